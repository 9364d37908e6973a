using System.Globalization;
using System.Text;
using LogPersist.Entries;
using LogPersist.Wal;

namespace LogPersist.Cli.Reading;

/// <summary>One WAL record as a printable line.</summary>
internal readonly record struct EntryLine(long TimestampNs, EntryLevel Level, bool IsMarker, string Text);

/// <summary>
/// Turns WAL records into the lines the shipper sends, through the same <see cref="LineFormatter"/>;
/// a gap record becomes the marker line the shipper would send for it (<see cref="Markers.Dropped"/>).
/// Loki keeps an entry's timestamp beside its line, so for reading offline each line is led by it:
/// a <c>ts</c> field first in JSON, <c>ts=</c> first in logfmt, the timestamp then a space in text.
/// </summary>
internal sealed class EntryLines : IDisposable
{
    private readonly LineFormatter _formatter;

    public EntryLines(LineFormat format)
    {
        Format = format;
        _formatter = new LineFormatter(format);
    }

    public LineFormat Format { get; }

    /// <summary>Records that held no readable entry (written by a newer version, or damaged under a valid checksum).</summary>
    public long Undecodable { get; private set; }

    /// <summary>Formats a data or gap record; false (and counted) when it is not a readable entry.</summary>
    public bool TryFormat(RecordKind kind, ReadOnlySpan<byte> payload, SegmentStrings? strings, out EntryLine line)
    {
        line = default;
        switch (kind)
        {
            case RecordKind.Data when EntryView.TryDecode(payload, strings, out var entry):
                line = Make(entry.TimestampNs, entry.Level, entry.Category.SequenceEqual(Markers.CategoryUtf8), _formatter.Format(entry, includeTrace: true));
                return true;
            case RecordKind.Gap when GapMarker.TryRead(payload, out var gap):
                var marker = Markers.Dropped(gap.Records, gap.Bytes, gap.FromUnixMs, gap.ToUnixMs, gap.Reason.TagValue());
                line = Make(marker.TimestampNs, marker.Level, isMarker: true, _formatter.FormatMarker(marker));
                return true;
            case RecordKind.SegmentEnd:
                return false;
        }

        Undecodable++;
        return false;
    }

    private EntryLine Make(long timestampNs, EntryLevel level, bool isMarker, ReadOnlySpan<byte> line)
    {
        var formatted = Encoding.UTF8.GetString(line);
        var ts = Timestamp(timestampNs);
        var text = Format switch
        {
            LineFormat.Json when formatted.StartsWith('{') => formatted.Length > 2
                ? "{\"ts\":\"" + ts + "\"," + formatted[1..]
                : "{\"ts\":\"" + ts + "\"}",
            LineFormat.Json => "{\"ts\":\"" + ts + "\",\"msg\":\"" + System.Text.Json.JsonEncodedText.Encode(formatted).Value + "\"}",
            LineFormat.Logfmt => "ts=" + ts + " " + formatted,
            _ => ts + " " + formatted,
        };
        return new EntryLine(timestampNs, level, isMarker, text);
    }

    /// <summary>RFC 3339 in UTC with nanoseconds, as Loki shows entry timestamps.</summary>
    public static string Timestamp(long unixNs)
    {
        var seconds = Math.DivRem(unixNs, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        var time = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, -62_135_596_800L, 253_402_300_799L));
        return time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + nanos.ToString("D9", CultureInfo.InvariantCulture) + "Z";
    }

    public void Dispose() => _formatter.Dispose();
}
