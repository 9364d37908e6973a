using System.Buffers.Binary;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class ConcurrencyTests
{
    [Fact]
    public void Eight_threads_appending_across_many_rolls_are_each_read_exactly_once()
    {
        const int threads = 8;
        const int perThread = 20_000;
        using var dir = new TempDirectory();
        var seenLive = new List<long>();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 64 * 1024)))
        using (var reader = wal.CreateReader())
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < perThread; i++)
                {
                    // Sizes vary so reservations end at every alignment and cross segment ends at random points.
                    var sequence = (long)t * perThread + i;
                    Assert.True(wal.Append(Wals.Payload(sequence, 8 + (int)(sequence % 300))));
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            start.SignalAndWait();

            // Tail the WAL while it is written: the live reader must never see a torn record.
            while (workers.Exists(w => w.IsAlive))
            {
                ReadAvailable(reader, seenLive);
            }

            workers.ForEach(w => w.Join());
            ReadAvailable(reader, seenLive);
            Assert.Equal(0, reader.DamagedRanges);
            Assert.True(Directory.GetFiles(dir.Path, "*.wal").Length > 50, "the test must cross many segment ends");
        }

        var expected = Enumerable.Range(0, threads * perThread).Select(i => (long)i).ToHashSet();
        Assert.Equal(threads * perThread, seenLive.Count);
        Assert.True(expected.SetEquals(seenLive), "live reader saw every sequence exactly once");

        // Reading the closed WAL afterwards yields the same records, each once, and per thread in order.
        var records = Wals.ReadAll(dir.Path, out var closed);
        closed.Dispose();
        var sequences = Wals.DataSequences(records);
        Assert.Equal(threads * perThread, sequences.Count);
        Assert.True(expected.SetEquals(sequences));
        Assert.Equal(0, closed.DamagedRanges);
        foreach (var group in sequences.GroupBy(s => s / perThread))
        {
            Assert.Equal(group.OrderBy(s => s), group);
        }
    }

    private static void ReadAvailable(WalReader reader, List<long> seen)
    {
        while (reader.TryRead(out var record))
        {
            if (record.Kind != RecordKind.Data)
            {
                continue;
            }

            Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence), $"record at {record.Position} is intact");
            seen.Add(sequence);
        }
    }

    [Fact]
    public void Appends_racing_with_dispose_never_throw_and_later_ones_are_counted_as_dropped()
    {
        using var dir = new TempDirectory();
        var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 16 * 1024));
        const int Workers = 4;
        var accepted = new long[Workers];
        var refused = new long[Workers];
        using var appending = new CountdownEvent(Workers);
        var workers = Enumerable.Range(0, Workers).Select(t => new Thread(() =>
        {
            var payload = new byte[100];
            for (var i = 0L; i < 10_000_000 && refused[t] < 100; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(payload, i);
                if (wal.Append(payload))
                {
                    // Each thread keeps appending until its appends are refused: the race with Dispose is certain.
                    if (++accepted[t] == 100)
                    {
                        appending.Signal();
                    }
                }
                else
                {
                    refused[t]++;
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        appending.Wait();
        wal.Dispose();
        workers.ForEach(w => w.Join());

        // Every thread was appending when the WAL was disposed: accepted before, refused after.
        Assert.All(accepted, count => Assert.True(count >= 100));
        Assert.All(refused, count => Assert.Equal(100, count));
        Assert.Equal(refused.Sum(), wal.Metrics.Dropped(WalDropReason.Disposed));
        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(accepted.Sum(), records.Count(r => r.Kind == RecordKind.Data));
        Assert.Equal(0, reader.DamagedRanges);
    }
}
