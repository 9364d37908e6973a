using System.Text;
using System.Text.Unicode;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// Turns WAL records into push entries, grouped by stream, until the batch is full. Data records
/// become lines; a gap record becomes a marker entry saying how many entries were lost and why.
/// Everything is derived from the record alone, so rebuilding a range gives identical entries.
/// Lines stay the formatter's UTF-8, copied once into the batch's pooled <see cref="LineArena"/>.
/// </summary>
internal sealed class BatchBuilder : IDisposable
{
    private const int EntryOverheadBytes = 24;
    private readonly ShipperOptions _options;
    private readonly StreamResolver _streams;
    private readonly LineFormatter _formatter;
    private readonly PropertyMetadata _properties;
    private readonly List<KeyValuePair<string, string>> _chosen = [];
    private readonly Dictionary<LabelSet, PushStream> _byLabels = new(ReferenceEqualityComparer.Instance);
    private List<PushStream> _current = [];
    private LineArena _lines = new();
    private int[] _refused = new int[ResponseClassifier.ReasonNames.Length];
    private int _entries;
    private long _bytes;
    private long _oldest = long.MaxValue;
    private int _undecodable;

    public BatchBuilder(ShipperOptions options, StreamResolver streams)
    {
        _options = options;
        _streams = streams;
        _formatter = new LineFormatter(options.LineFormat);
        _properties = new PropertyMetadata(options.MetadataProperties);
    }

    /// <summary>When true, trace and span ids travel as structured metadata instead of inside the line.</summary>
    public bool SendMetadata { get; set; }

    /// <summary>Called with the position of each record that is not a readable entry.</summary>
    public Action<WalPosition>? OnUndecodable { get; set; }

    public int Entries => _entries;

    public bool IsFull => _bytes >= _options.BatchMaxBytes;

    /// <summary>True once anything (an entry, a refusal, an undecodable record) is waiting to be sealed.</summary>
    public bool HasContent => _entries > 0 || _undecodable > 0 || _refused.Any(c => c > 0);

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the first content of this batch was added.</summary>
    public long StartedAt { get; private set; }

    public long OldestTimestampNs => _oldest;

    /// <summary>
    /// Whether <paramref name="record"/> was written by a later format than this version reads: its first
    /// byte (the entry's or gap marker's format) is above the newest one known here. Its checksum held,
    /// so this is no damage: such a record is never decoded, skipped or acknowledged. The shipper stops
    /// before it and keeps it, and everything after it, for a LogPersist that reads it.
    /// </summary>
    public static NewerFormat? Newer(in WalRecord record)
    {
        var payload = record.Payload.Span;
        if (payload.IsEmpty)
        {
            return null;
        }

        return record.Kind switch
        {
            RecordKind.Data when payload[0] > EntryFormat.Newest => new NewerFormat(record.Position, "an entry", payload[0], EntryFormat.Newest),
            RecordKind.Gap when payload[0] > GapMarker.Version => new NewerFormat(record.Position, "a gap marker", payload[0], GapMarker.Version),
            _ => null,
        };
    }

    public void Add(in WalRecord record)
    {
        if (!HasContent)
        {
            StartedAt = _options.TimeProvider.GetTimestamp();
        }

        switch (record.Kind)
        {
            case RecordKind.Data:
                if (EntryView.TryDecode(record.Payload.Span, record.Strings, out var entry))
                {
                    AddEntry(entry);
                }
                else
                {
                    _undecodable++;
                    OnUndecodable?.Invoke(record.Position);
                }

                break;
            case RecordKind.Gap:
                if (GapMarker.TryRead(record.Payload.Span, out var gap))
                {
                    AddGapMarker(gap);
                }
                else
                {
                    _undecodable++;
                    OnUndecodable?.Invoke(record.Position);
                }

                break;
        }
    }

    public Batch Seal(WalPosition start, WalPosition end)
    {
        var batch = new Batch
        {
            Start = start,
            End = end,
            Streams = _current,
            Lines = _lines,
            Entries = _entries,
            OldestTimestampNs = _oldest,
            RefusedBeforeSend = _refused,
        };
        _current = [];
        _lines = new LineArena();
        _byLabels.Clear();
        _refused = new int[ResponseClassifier.ReasonNames.Length];
        _entries = 0;
        _bytes = 0;
        _oldest = long.MaxValue;
        _undecodable = 0;
        return batch;
    }

    private void AddEntry(in EntryView entry)
    {
        if (_options.MaxEntryAge is { } maxAge
            && entry.TimestampNs < LogEntry.NowNs(_options.TimeProvider) - (maxAge.Ticks * 100))
        {
            _refused[(int)RefusalReason.TooOld]++;
            return;
        }

        var labels = _streams.Resolve(entry);
        var trace = SendMetadata && entry.Has(EntryFlags.Trace) ? TraceMetadata(entry.Trace) : null;
        var metadata = WithStatic(trace);
        ulong asMetadata = 0;
        if (SendMetadata && !_properties.IsEmpty && entry.PropertyCount > 0)
        {
            // Chosen properties leave the line when they travel as metadata; without metadata they stay in it.
            _chosen.Clear();
            asMetadata = _properties.Choose(entry, metadata, _chosen);
            if (asMetadata != 0)
            {
                metadata = metadata is null ? [.. _chosen] : [.. metadata, .. _chosen];
            }
        }

        var line = _formatter.Format(entry, includeTrace: trace is null, asMetadata);
        AddLine(labels, entry.TimestampNs, line, metadata, marker: entry.Category.SequenceEqual(Markers.CategoryUtf8));
    }

    private void AddLine(LabelSet labels, long timestampNs, ReadOnlySpan<byte> line, KeyValuePair<string, string>[]? metadata, bool marker)
    {
        if (!_byLabels.TryGetValue(labels, out var stream))
        {
            stream = new PushStream(labels);
            _byLabels[labels] = stream;
            _current.Add(stream);
            _bytes += labels.Text.Length + EntryOverheadBytes;
        }

        var max = _options.MaxLineBytes;
        if (line.Length <= max)
        {
            Append(stream, timestampNs, line, metadata, marker);
            return;
        }

        if (_options.OversizedLines == OversizedLineMode.Split)
        {
            // Pieces one nanosecond apart keep their order in Loki and stay distinct entries.
            var piece = 0;
            while (line.Length > 0)
            {
                var cut = Utf8Boundary(line, max);
                Append(stream, timestampNs + piece++, line[..cut], metadata, marker);
                line = line[cut..];
            }

            return;
        }

        // The suffix needs at most 40 bytes; cut on a character boundary so the line stays valid UTF-8.
        var keep = Utf8Boundary(line, max - 40);
        var suffix = Encoding.UTF8.GetBytes($" …[truncated {line.Length - keep} bytes]");
        var truncated = new byte[keep + suffix.Length];
        line[..keep].CopyTo(truncated);
        suffix.CopyTo(truncated.AsSpan(keep));
        Append(stream, timestampNs, truncated, metadata, marker);
    }

    private void Append(PushStream stream, long timestampNs, ReadOnlySpan<byte> line, KeyValuePair<string, string>[]? metadata, bool marker)
    {
        // Malformed UTF-8 (a producer's raw bytes in logfmt or text) is sent with U+FFFD in place of each
        // bad sequence, as a .NET string would carry it: a line resent by any version stays identical.
        var bytes = Utf8.IsValid(line) ? _lines.Add(line) : _lines.Add(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line)));
        stream.Entries.Add(new PushEntry(timestampNs, bytes, metadata, marker));
        _entries++;
        _bytes += line.Length + EntryOverheadBytes + MetadataBytes(metadata);
        if (timestampNs < _oldest)
        {
            _oldest = timestampNs;
        }
    }

    private void AddGapMarker(in GapMarker gap)
    {
        var marker = Markers.Dropped(gap.Records, gap.Bytes, gap.FromUnixMs, gap.ToUnixMs, gap.Reason.TagValue());
        AddLine(_streams.Static, marker.TimestampNs, _formatter.FormatMarker(marker), WithStatic(null), marker: true);
    }

    /// <summary>
    /// Adds the shipper's fixed metadata (<c>adopted_by</c>) when metadata is sent. Without structured
    /// metadata it is left out rather than put in the line: an unchanged line is what lets Loki drop an
    /// entry shipped twice.
    /// </summary>
    private KeyValuePair<string, string>[]? WithStatic(KeyValuePair<string, string>[]? metadata)
    {
        var fixedMetadata = _options.StaticMetadata;
        if (!SendMetadata || fixedMetadata.Count == 0)
        {
            return metadata;
        }

        return metadata is null ? [.. fixedMetadata] : [.. metadata, .. fixedMetadata];
    }

    private static int MetadataBytes(KeyValuePair<string, string>[]? metadata)
    {
        var bytes = 0;
        foreach (var (name, value) in metadata ?? [])
        {
            bytes += name.Length + value.Length + 8;
        }

        return bytes;
    }

    private static KeyValuePair<string, string>[] TraceMetadata(ReadOnlySpan<byte> trace)
    {
        Span<byte> hex = stackalloc byte[48];
        ValueText.WriteHex(hex, trace);
        return
        [
            new("trace_id", Encoding.ASCII.GetString(hex[..32])),
            new("span_id", Encoding.ASCII.GetString(hex[32..])),
        ];
    }

    /// <summary>The largest length not above <paramref name="max"/> that does not cut a UTF-8 sequence.</summary>
    private static int Utf8Boundary(ReadOnlySpan<byte> text, int max)
    {
        if (text.Length <= max)
        {
            return text.Length;
        }

        var cut = max;
        while (cut > 0 && (text[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        return cut == 0 ? max : cut;
    }

    /// <summary>Ends the builder; lines added and never sealed into a batch go back to the pool.</summary>
    public void Dispose()
    {
        _lines.Release();
        _formatter.Dispose();
    }
}
