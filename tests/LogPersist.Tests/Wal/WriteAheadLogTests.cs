using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class WriteAheadLogTests
{
    [Fact]
    public void Records_appended_across_segment_rolls_are_read_back_in_order()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            for (var i = 0; i < 1000; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i)));
            }
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), Wals.DataSequences(records));
        Assert.All(records, r => Assert.True(Wals.IsIntact(r.Payload, out _)));
        Assert.Equal(0, reader.DamagedRanges);
    }

    [Fact]
    public void Reader_follows_records_appended_after_it_started()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));
        using var reader = wal.CreateReader();
        Assert.False(reader.TryRead(out _));
        var seen = new List<long>();
        for (var i = 0; i < 300; i++)
        {
            wal.Append(Wals.Payload(i));
            Assert.True(reader.TryRead(out var record));
            Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence));
            seen.Add(sequence);
            Assert.False(reader.TryRead(out _));
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), seen);
    }

    [Fact]
    public void Empty_and_oversized_records_are_refused_counted_and_marked_in_the_stream()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            Assert.True(wal.Append(Wals.Payload(1, 100)));
            Assert.False(wal.Append([]));
            Assert.False(wal.Append(new byte[wal.MaxPayloadBytes + 1]));
            Assert.True(wal.Append(new byte[wal.MaxPayloadBytes]));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.Empty));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.TooLarge));
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        var gaps = records.Where(r => r.Kind == RecordKind.Gap).Select(r => GapMarker.TryRead(r.Payload, out var gap) ? gap : default).ToList();
        Assert.Contains(gaps, g => g.Reason == WalDropReason.Empty && g.Records == 1);
        Assert.Contains(gaps, g => g.Reason == WalDropReason.TooLarge && g.Records == 1 && g.Bytes == 8192 - 104 + 1);
        Assert.Equal(2, records.Count(r => r.Kind == RecordKind.Data));
    }
}
