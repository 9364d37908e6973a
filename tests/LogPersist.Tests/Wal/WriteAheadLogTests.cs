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
}
