using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// The acknowledged position: saved atomically, never moved back, never read as a position that was
/// not saved, and used to delete shipped segments and to resume reading after a restart.
/// </summary>
public sealed class CheckpointTests
{
    private static readonly WalPosition Saved = new(3, 1234);

    [Fact]
    public void A_saved_position_is_loaded_by_the_next_instance()
    {
        using var dir = new TempDirectory();
        var checkpoint = new Checkpoint(new FileSystem(), dir.Path);
        Assert.Equal(WalPosition.Start, checkpoint.Load());

        Assert.True(checkpoint.Save(Saved));
        Assert.Equal(Saved, checkpoint.Position);

        var reloaded = new Checkpoint(new FileSystem(), dir.Path);
        Assert.Equal(WalPosition.Start, reloaded.Position);
        Assert.Equal(Saved, reloaded.Load());
        Assert.Equal(Saved, reloaded.Position);
        Assert.False(File.Exists(dir.Combine(Checkpoint.TemporaryFileName)));
    }

    [Fact]
    public void Extreme_positions_round_trip()
    {
        foreach (var position in new[] { new WalPosition(0, 1), new WalPosition(long.MaxValue, long.MaxValue), new WalPosition(1, 64) })
        {
            using var dir = new TempDirectory();
            Assert.True(new Checkpoint(new FileSystem(), dir.Path).Save(position));
            Assert.Equal(position, new Checkpoint(new FileSystem(), dir.Path).Load());
        }
    }

    [Fact]
    public void Save_ignores_positions_that_are_not_ahead_of_the_saved_one()
    {
        using var dir = new TempDirectory();
        var checkpoint = new Checkpoint(new FileSystem(), dir.Path);
        checkpoint.Load();
        Assert.True(checkpoint.Save(Saved));
        var bytes = File.ReadAllBytes(dir.Combine(Checkpoint.FileName));

        Assert.False(checkpoint.Save(Saved));
        Assert.False(checkpoint.Save(Saved with { Offset = Saved.Offset - 8 }));
        Assert.False(checkpoint.Save(new WalPosition(Saved.Segment - 1, long.MaxValue)));
        Assert.False(checkpoint.Save(WalPosition.Start));

        Assert.Equal(Saved, checkpoint.Position);
        Assert.Equal(bytes, File.ReadAllBytes(dir.Combine(Checkpoint.FileName)));
        Assert.Equal(Saved, new Checkpoint(new FileSystem(), dir.Path).Load());

        Assert.True(checkpoint.Save(new WalPosition(Saved.Segment + 1, 64)));
        Assert.Equal(new WalPosition(Saved.Segment + 1, 64), new Checkpoint(new FileSystem(), dir.Path).Load());
    }

    [Fact]
    public void Save_after_loading_ignores_positions_behind_the_loaded_one()
    {
        using var dir = new TempDirectory();
        new Checkpoint(new FileSystem(), dir.Path).Save(Saved);

        var checkpoint = new Checkpoint(new FileSystem(), dir.Path);
        checkpoint.Load();
        Assert.False(checkpoint.Save(new WalPosition(1, 64)));
        Assert.Equal(Saved, new Checkpoint(new FileSystem(), dir.Path).Load());
    }

    /// <remarks>
    /// Bytes 28..31 are reserved and outside the checksum: a flip there cannot change the position,
    /// so loading the saved position is as acceptable as loading the start; any third position is not.
    /// </remarks>
    [Fact]
    public void A_checkpoint_with_any_byte_flipped_loads_as_the_start_never_as_another_position()
    {
        using var dir = new TempDirectory();
        new Checkpoint(new FileSystem(), dir.Path).Save(Saved);
        var path = dir.Combine(Checkpoint.FileName);
        var original = File.ReadAllBytes(path);
        Assert.Equal(32, original.Length);

        for (var at = 0; at < original.Length; at++)
        {
            foreach (var mask in new byte[] { 0xFF, 0x01, 0x80 })
            {
                var damaged = (byte[])original.Clone();
                damaged[at] ^= mask;
                File.WriteAllBytes(path, damaged);

                var loaded = new Checkpoint(new FileSystem(), dir.Path).Load();

                if (at < 28)
                {
                    Assert.True(loaded == WalPosition.Start, $"byte {at} ^ {mask:X2} loaded as {loaded}");
                }
                else
                {
                    Assert.True(loaded == WalPosition.Start || loaded == Saved, $"byte {at} ^ {mask:X2} loaded as {loaded}");
                }
            }
        }
    }

    [Fact]
    public void A_cut_short_or_overlong_or_empty_checkpoint_loads_as_the_start()
    {
        using var dir = new TempDirectory();
        new Checkpoint(new FileSystem(), dir.Path).Save(Saved);
        var path = dir.Combine(Checkpoint.FileName);
        var original = File.ReadAllBytes(path);

        foreach (var bytes in new[] { original[..31], original[..24], [], [.. original, 0] })
        {
            File.WriteAllBytes(path, bytes);
            Assert.Equal(WalPosition.Start, new Checkpoint(new FileSystem(), dir.Path).Load());
        }
    }

    [Fact]
    public void A_checksummed_checkpoint_with_a_negative_position_loads_as_the_start()
    {
        using var dir = new TempDirectory();
        var bytes = new byte[32];
        Checkpoint.Encode(new WalPosition(-1, 64), bytes);
        File.WriteAllBytes(dir.Combine(Checkpoint.FileName), bytes);

        Assert.Equal(WalPosition.Start, new Checkpoint(new FileSystem(), dir.Path).Load());
    }

    [Fact]
    public void A_leftover_temporary_checkpoint_does_not_affect_load()
    {
        using var dir = new TempDirectory();
        new Checkpoint(new FileSystem(), dir.Path).Save(Saved);
        var garbage = new byte[32];
        new Random(5).NextBytes(garbage);
        File.WriteAllBytes(dir.Combine(Checkpoint.TemporaryFileName), garbage);

        Assert.Equal(Saved, new Checkpoint(new FileSystem(), dir.Path).Load());
    }

    [Fact]
    public void A_valid_temporary_checkpoint_that_was_never_renamed_is_not_loaded()
    {
        // A crash between writing checkpoint.tmp and renaming it: the save did not happen.
        using var dir = new TempDirectory();
        var bytes = new byte[32];
        Checkpoint.Encode(Saved, bytes);
        File.WriteAllBytes(dir.Combine(Checkpoint.TemporaryFileName), bytes);

        Assert.Equal(WalPosition.Start, new Checkpoint(new FileSystem(), dir.Path).Load());
    }

    [Fact]
    public void Opening_the_wal_removes_a_leftover_temporary_checkpoint_and_keeps_the_saved_one()
    {
        using var dir = new TempDirectory();
        new Checkpoint(new FileSystem(), dir.Path).Save(Saved);
        File.WriteAllBytes(dir.Combine(Checkpoint.TemporaryFileName), [1, 2, 3]);

        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));

        Assert.False(File.Exists(dir.Combine(Checkpoint.TemporaryFileName)));
        Assert.Equal(Saved, wal.Checkpoint);
    }

    [Fact]
    public async Task Acknowledging_deletes_earlier_segments_and_a_reopened_wal_resumes_after_the_checkpoint()
    {
        using var dir = new TempDirectory();
        const int Count = 400;
        WalPosition acknowledged;
        long acknowledgedSequence;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            for (var i = 0; i < Count; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i, 100)));
            }

            Assert.True(SegmentsIn(dir.Path).Count >= 5, $"only {SegmentsIn(dir.Path).Count} segments");

            // Ship up to and including the first record of segment 3, and one more from it.
            using var reader = wal.CreateReader();
            WalRecord record;
            do
            {
                Assert.True(reader.TryRead(out record));
            }
            while (record.Position.Segment < 3);

            Assert.True(reader.TryRead(out record));
            Assert.True(Wals.IsIntact(record.Payload.Span, out acknowledgedSequence));
            acknowledged = record.Next;
            Assert.Equal(3, acknowledged.Segment);

            Assert.True(wal.Acknowledge(acknowledged));
            Assert.Equal(acknowledged, wal.Checkpoint);
            Assert.All(SegmentsIn(dir.Path), s => Assert.True(s >= 3, $"segment {s} is still there"));
            Assert.Contains(3L, SegmentsIn(dir.Path));

            // Acknowledging an earlier position neither moves the checkpoint back nor brings anything back.
            Assert.True(wal.Acknowledge(new WalPosition(2, 64)));
            Assert.Equal(acknowledged, wal.Checkpoint);
        }

        var kept = SegmentsIn(dir.Path);
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            var report = await wal.Recovery.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(acknowledged, wal.Checkpoint);
            Assert.Equal(kept, SegmentsIn(dir.Path).Where(s => s < wal.FirstLiveSegment));
            Assert.Equal(Count - 1 - acknowledgedSequence, report.Records);
            Assert.Equal(0, report.DamagedRanges);

            using var reader = wal.CreateReader();
            var read = new List<long>();
            while (reader.TryRead(out var record))
            {
                Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence));
                read.Add(sequence);
            }

            Assert.Equal(Enumerable.Range((int)acknowledgedSequence + 1, Count - 1 - (int)acknowledgedSequence).Select(i => (long)i), read);
        }
    }

    [Theory]
    [InlineData("refuses")]
    [InlineData("throws")]
    public void A_hook_that_cannot_save_what_shipped_records_leave_keeps_the_checkpoint_and_the_segments(string failure)
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));
        using var reader = wal.CreateReader();
        var last = AppendAndReadAll(wal, reader);

        var before = SegmentsIn(dir.Path);
        Assert.True(before.Count > 1, $"only {before.Count} segments");
        var calls = 0;
        var save = false;
        wal.BeforeForgettingShipped = seen =>
        {
            Assert.Same(wal, seen);
            calls++;
            return save || (failure == "throws" ? throw new IOException("disk full") : false);
        };

        Assert.False(wal.Acknowledge(last));
        Assert.Equal(1, calls);
        Assert.Equal(WalPosition.Start, wal.Checkpoint);
        Assert.Equal(before, SegmentsIn(dir.Path));

        // Once the hook can save, the next acknowledgement goes through.
        save = true;
        Assert.True(wal.Acknowledge(last));
        Assert.Equal(2, calls);
        Assert.Equal(last, wal.Checkpoint);
        Assert.Equal([last.Segment], SegmentsIn(dir.Path));
    }

    [Fact]
    public void Acknowledging_a_position_in_the_live_segment_keeps_the_live_segment()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));
        using var reader = wal.CreateReader();
        var last = AppendAndReadAll(wal, reader);

        Assert.True(wal.Acknowledge(last));
        Assert.Equal([last.Segment], SegmentsIn(dir.Path));

        Assert.True(wal.Append(Wals.Payload(200, 100)));
        Assert.True(reader.TryRead(out var next));
        Assert.True(Wals.IsIntact(next.Payload.Span, out var sequence));
        Assert.Equal(200, sequence);
    }

    /// <summary>Appends 200 records of 100 bytes (several 8 KiB segments), reads them all, and returns the position past the last.</summary>
    private static WalPosition AppendAndReadAll(WriteAheadLog wal, WalReader reader)
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.True(wal.Append(Wals.Payload(i, 100)));
        }

        var last = WalPosition.Start;
        var count = 0;
        while (reader.TryRead(out var record))
        {
            last = record.Next;
            count++;
        }

        Assert.Equal(200, count);
        return last;
    }

    private static List<long> SegmentsIn(string directory) =>
        [.. Directory.EnumerateFiles(directory, SegmentNames.SearchPattern)
            .Select(path => SegmentNames.TryParse(Path.GetFileName(path), out var sequence) ? sequence : -1)
            .Order()];
}
