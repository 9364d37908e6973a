using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class DiskCapTests
{
    private const long Segment = 16 * 1024;

    [Fact]
    public void DropOldest_stays_under_the_cap_counts_evicted_records_and_marks_the_gap()
    {
        using var dir = new TempDirectory();
        const int appended = 2000;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, Segment, maxDiskBytes: 4 * Segment)))
        using (var metrics = new MeterRecorder(wal.Metrics.Meter))
        {
            for (var i = 0; i < appended; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i, 100)));
                Assert.True(DiskBytes(dir.Path) <= 4 * Segment, "the cap is never exceeded");
            }

            var evicted = wal.Metrics.Dropped(WalDropReason.OldestEvicted);
            Assert.True(evicted > 0);
            Assert.Equal(evicted, metrics.Sum("logpersist.wal.entry.dropped", "reason=oldest_evicted"));

            wal.Dispose();
            var records = Wals.ReadAll(dir.Path, out var reader);
            reader.Dispose();
            var kept = Wals.DataSequences(records);

            // What is left is the newest records, contiguous up to the last append; the rest is accounted for.
            Assert.Equal(Enumerable.Range(appended - kept.Count, kept.Count).Select(i => (long)i), kept);
            Assert.Equal(appended, kept.Count + evicted);
            // Markers written into segments that were evicted later were carried forward: the surviving
            // markers still account for every evicted record.
            var markers = Gaps(records);
            Assert.All(markers, m => Assert.Equal(WalDropReason.OldestEvicted, m.Reason));
            Assert.Equal(evicted, markers.Sum(m => m.Records));
            Assert.All(markers, m => Assert.True(m.FromUnixMs <= m.ToUnixMs));
        }
    }

    [Fact]
    public void DropNewest_refuses_when_full_and_resumes_after_shipped_segments_are_deleted()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, Segment, maxDiskBytes: 2 * Segment, fullMode: WalFullMode.DropNewest));
        using var reader = wal.CreateReader();
        var accepted = new List<long>();
        long refused = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (wal.Append(Wals.Payload(i, 100)))
            {
                accepted.Add(i);
            }
            else
            {
                refused++;
            }
        }

        Assert.True(refused > 0);
        Assert.Equal(refused, wal.Metrics.Dropped(WalDropReason.WalFull));
        Assert.True(DiskBytes(dir.Path) <= 2 * Segment);

        // Ship everything that is there and acknowledge it: the segments behind are deleted...
        var shipped = ReadData(reader);
        Assert.Equal(accepted, shipped);
        Assert.True(wal.Acknowledge(reader.Position));

        // ...and appends are accepted again, starting with a marker for what was refused.
        Assert.True(wal.Append(Wals.Payload(5000, 100)));
        var after = new List<(RecordKind Kind, byte[] Payload)>();
        while (reader.TryRead(out var record))
        {
            after.Add((record.Kind, record.Payload.ToArray()));
        }

        var gap = Assert.Single(Gaps(after));
        Assert.Equal(WalDropReason.WalFull, gap.Reason);
        Assert.Equal(refused, gap.Records);
        Assert.Equal([5000L], Wals.DataSequences(after));
    }

    [Fact]
    public async Task Block_waits_for_space_and_proceeds_when_a_segment_is_shipped()
    {
        using var dir = new TempDirectory();
        var options = Wals.Options(dir.Path, Segment, maxDiskBytes: 2 * Segment, fullMode: WalFullMode.Block);
        using var wal = WriteAheadLog.Open(new WalOptions
        {
            Directory = options.Directory,
            SegmentBytes = options.SegmentBytes,
            MaxDiskBytes = options.MaxDiskBytes,
            FullMode = WalFullMode.Block,
            BlockTimeout = TimeSpan.FromMinutes(1),
        });
        using var reader = wal.CreateReader();
        var i = 0;
        // Fill both segments: the next append that needs a third one has to wait.
        while (Directory.GetFiles(dir.Path, "*.wal").Length < 2 || wal.Metrics.AppendedRecords < 2 * Segment / 128)
        {
            Assert.True(wal.Append(Wals.Payload(i++, 100)));
        }

        var blocked = Task.Factory.StartNew(
            () =>
            {
                var results = new List<bool>();
                // Fewer than one segment holds: after one segment is freed, all of them fit.
                for (var k = 0; k < 50; k++)
                {
                    results.Add(wal.Append(Wals.Payload(10_000 + k, 100)));
                }

                return results;
            },
            TaskCreationOptions.LongRunning);

        // The appender found the WAL full and, in Block mode, waits rather than drops: nothing is dropped, and it
        // returns only once the oldest segment is shipped.
        await Support.Shipping.WaitForAsync(() => wal.Metrics.WriteFailure == WalDropReason.WalFull || blocked.IsCompleted, "the append to find the WAL full");
        Assert.False(blocked.IsCompleted, "the append waits while the WAL is full");
        Assert.Equal(0, wal.Metrics.DroppedTotal());
        ReadData(reader);
        Assert.True(wal.Acknowledge(reader.Position));
        var results = await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(results, Assert.True);
        Assert.Equal(0, wal.Metrics.DroppedTotal());
    }

    [Fact]
    public void Block_drops_with_a_count_when_no_space_comes_before_the_timeout()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(new WalOptions
        {
            Directory = dir.Path,
            SegmentBytes = Segment,
            MaxDiskBytes = 2 * Segment,
            FullMode = WalFullMode.Block,
            BlockTimeout = TimeSpan.FromMilliseconds(20),
        });
        var refused = 0;
        for (var i = 0; i < 400; i++)
        {
            if (!wal.Append(Wals.Payload(i, 100)))
            {
                refused++;
            }
        }

        Assert.True(refused > 0);
        Assert.Equal(refused, wal.Metrics.Dropped(WalDropReason.BlockTimeout));
    }

    [Fact]
    public void A_full_disk_never_throws_counts_the_drops_and_appends_resume_when_space_returns()
    {
        using var dir = new TempDirectory();
        var fileSystem = new FaultyFileSystem();
        var time = new ManualTime();
        var diskFull = false;
        fileSystem.Fault = path => diskFull && path.EndsWith(".wal.tmp", StringComparison.Ordinal) ? FaultyFileSystem.NoSpace(path) : null;
        using var wal = WriteAheadLog.Open(new WalOptions
        {
            Directory = dir.Path,
            SegmentBytes = Segment,
            FullMode = WalFullMode.DropNewest,
            FileSystem = fileSystem,
            TimeProvider = time,
            RetryDelay = TimeSpan.FromSeconds(1),
        });

        diskFull = true;
        var accepted = new List<long>();
        var refused = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (wal.Append(Wals.Payload(i, 100)))
            {
                accepted.Add(i);
            }
            else
            {
                refused++;
            }
        }

        Assert.True(refused > 0, "the first segment filled up and no second could be created");
        Assert.Equal(refused, wal.Metrics.Dropped(WalDropReason.NoSpace));

        // One attempt per retry delay, not one per log call.
        Assert.Equal(1, fileSystem.FailedOpens);

        // Space comes back; after the retry delay the next append opens a new segment.
        diskFull = false;
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(wal.Append(Wals.Payload(5000, 100)));
        wal.Dispose();

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal([.. accepted, 5000L], Wals.DataSequences(records));
        var gap = Assert.Single(Gaps(records));
        Assert.Equal(WalDropReason.NoSpace, gap.Reason);
        Assert.Equal(refused, gap.Records);
    }

    [Fact]
    public void A_full_disk_with_DropOldest_evicts_the_oldest_segment_and_keeps_appending()
    {
        using var dir = new TempDirectory();
        var fileSystem = new FaultyFileSystem();
        var failNext = 0;
        fileSystem.Fault = path => path.EndsWith(".wal.tmp", StringComparison.Ordinal) && Interlocked.Exchange(ref failNext, 0) == 1 ? FaultyFileSystem.NoSpace(path) : null;
        using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = Segment, FileSystem = fileSystem });
        var i = 0;
        while (Directory.GetFiles(dir.Path, "*.wal").Length < 3)
        {
            Assert.True(wal.Append(Wals.Payload(i++, 100)));
        }

        failNext = 1;
        var before = Directory.GetFiles(dir.Path, "*.wal").Order().First();
        for (var k = 0; k < 300; k++)
        {
            Assert.True(wal.Append(Wals.Payload(i++, 100)));
        }

        Assert.Equal(1, fileSystem.FailedOpens);
        Assert.False(File.Exists(before), "the oldest segment made room");
        Assert.True(wal.Metrics.Dropped(WalDropReason.OldestEvicted) > 0);
        Assert.Equal(0, wal.Metrics.Dropped(WalDropReason.NoSpace));
    }

    [Fact]
    public void An_unwritable_segment_is_an_io_error_drop_not_an_exception()
    {
        using var dir = new TempDirectory();
        var fileSystem = new FaultyFileSystem();
        var fail = false;
        fileSystem.Fault = path => fail && path.EndsWith(".wal.tmp", StringComparison.Ordinal) ? new UnauthorizedAccessException($"Access to '{path}' is denied.") : null;
        using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = Segment, FileSystem = fileSystem, RetryDelay = TimeSpan.FromHours(1) });
        fail = true;
        var refused = 0;
        for (var i = 0; i < 500; i++)
        {
            refused += wal.Append(Wals.Payload(i, 100)) ? 0 : 1;
        }

        Assert.True(refused > 0);
        Assert.Equal(refused, wal.Metrics.Dropped(WalDropReason.IoError));
    }

    private static List<long> ReadData(WalReader reader)
    {
        var sequences = new List<long>();
        while (reader.TryRead(out var record))
        {
            if (record.Kind == RecordKind.Data && Wals.IsIntact(record.Payload.Span, out var sequence))
            {
                sequences.Add(sequence);
            }
        }

        return sequences;
    }

    private static List<GapMarker> Gaps(IEnumerable<(RecordKind Kind, byte[] Payload)> records) =>
        [.. records.Where(r => r.Kind == RecordKind.Gap).Select(r => GapMarker.TryRead(r.Payload, out var m) ? m : throw new InvalidDataException("bad gap marker"))];

    private static long DiskBytes(string directory) =>
        Directory.GetFiles(directory, "*.wal").Sum(f => new FileInfo(f).Length);
}
