using LogPersist.Entries;
using LogPersist.Wal;

namespace LogPersist.Tests.Entries;

public class MarkerLineTests
{
    /// <summary>The drop marker as it was made before it was formatted directly: an entry, encoded to the WAL format and decoded.</summary>
    private static byte[] ThroughAnEntry(LineFormat format, GapMarker gap)
    {
        var entry = new LogEntry
        {
            TimestampNs = gap.ToUnixMs * 1_000_000,
            Level = EntryLevel.Warning,
            Category = "LogPersist",
            Message = $"LogPersist dropped {gap.Records} entries ({gap.Bytes} bytes) written between {DateTimeOffset.FromUnixTimeMilliseconds(gap.FromUnixMs):O} and {DateTimeOffset.FromUnixTimeMilliseconds(gap.ToUnixMs):O}: {gap.Reason.TagValue()}",
        };
        entry.Properties.Add(new("dropped_entries", gap.Records));
        entry.Properties.Add(new("dropped_bytes", gap.Bytes));
        entry.Properties.Add(new("reason", gap.Reason.TagValue()));
        using var formatter = new LineFormatter(format);
        Assert.True(EntryView.TryDecode(new EntryEncoder(256).Encode(entry), out var view));
        return formatter.Format(view, includeTrace: true).ToArray();
    }

    public static TheoryData<LineFormat> Formats => [LineFormat.Json, LineFormat.Logfmt, LineFormat.Text];

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_drop_marker_formats_to_the_bytes_of_the_entry_it_used_to_be(LineFormat format)
    {
        GapMarker[] gaps =
        [
            new(WalDropReason.WalFull, 1, 120, 1_700_000_000_000, 1_700_000_000_001),
            new(WalDropReason.OldestEvicted, 123_456_789_012, long.MaxValue / 4, 0, 86_400_000),
            new(WalDropReason.Fenced, 0, 0, -5_000, -1),
            .. Enum.GetValues<WalDropReason>().Select(r => new GapMarker(r, 7, 700, 1_764_000_000_000, 1_764_000_060_000)),
        ];
        using var formatter = new LineFormatter(format);

        foreach (var gap in gaps)
        {
            var marker = Markers.Dropped(gap.Records, gap.Bytes, gap.FromUnixMs, gap.ToUnixMs, gap.Reason.TagValue());

            Assert.Equal(Convert.ToHexString(ThroughAnEntry(format, gap)), Convert.ToHexString(formatter.FormatMarker(marker)));
            Assert.Equal(gap.ToUnixMs * 1_000_000, marker.TimestampNs);
        }
    }

    [Fact]
    public void A_drop_marker_line_reads_as_a_warning_with_its_counts()
    {
        using var formatter = new LineFormatter(LineFormat.Json);
        var marker = Markers.Dropped(3, 300, 1_700_000_000_000, 1_700_000_001_000, "wal_full");

        using var json = System.Text.Json.JsonDocument.Parse(formatter.FormatMarker(marker).ToArray());

        Assert.Equal("warn", json.RootElement.GetProperty("level").GetString());
        Assert.Equal("LogPersist", json.RootElement.GetProperty("category").GetString());
        Assert.Equal(3, json.RootElement.GetProperty("dropped_entries").GetInt64());
        Assert.Equal("wal_full", json.RootElement.GetProperty("reason").GetString());
    }
}
