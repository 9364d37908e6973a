using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Xunit.Abstractions;

namespace LogPersist.Tests.Wal;

/// <summary>
/// A child process appends (or checkpoints) as fast as it can and is killed with SIGKILL at a random
/// moment; what it reported as done must be on disk afterwards.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Appends_that_returned_survive_repeated_SIGKILL_exactly_once()
    {
        using var dir = new TempDirectory();
        var random = new Random(20261123);
        var reported = new List<long>();
        var clock = Stopwatch.StartNew();
        for (var iteration = 0; iteration < 20; iteration++)
        {
            // Every run appends its own range of sequence numbers into the same directory.
            var first = (iteration + 1) * 1_000_000_000L;
            using var child = await CrashHelperProcess.StartAsync("append", dir.Path, (64 * 1024).ToString(CultureInfo.InvariantCulture), "2", first.ToString(CultureInfo.InvariantCulture));
            await child.WhenReported(random.Next(2_000, 40_000)).WaitAsync(TimeSpan.FromSeconds(60));
            child.Kill();
            reported.AddRange(child.Reported);
        }

        var onDisk = new Dictionary<long, int>();
        using var reader = new WalReader(new FileSystem(), dir.Path, WalPosition.Start, long.MaxValue);
        while (reader.TryRead(out var record))
        {
            Assert.Equal(RecordKind.Data, record.Kind);
            var payload = record.Payload.Span;
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(payload);
            Assert.Equal(170, payload.Length);
            Assert.True(payload[8..].IndexOfAnyExcept((byte)sequence) < 0, $"payload of {sequence} is intact");
            onDisk[sequence] = onDisk.GetValueOrDefault(sequence) + 1;
        }

        var missing = reported.Where(s => !onDisk.ContainsKey(s)).ToList();
        Assert.Empty(missing);
        Assert.DoesNotContain(onDisk, kv => kv.Value > 1);
        Assert.Equal(reported.Count, reported.Distinct().Count());
        output.WriteLine($"20 kills: {reported.Count:N0} appends reported, {onDisk.Count:N0} records on disk, {reader.DamagedRanges} damaged ranges ({reader.DamagedBytes} bytes) skipped, {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Killed_checkpoint_writer_never_leaves_a_position_ahead_of_what_was_saved()
    {
        using var dir = new TempDirectory();
        var random = new Random(7);
        var next = 1L;
        for (var iteration = 0; iteration < 10; iteration++)
        {
            using var child = await CrashHelperProcess.StartAsync("checkpoint", dir.Path, next.ToString(CultureInfo.InvariantCulture));
            await child.WhenReported(random.Next(20, 400)).WaitAsync(TimeSpan.FromSeconds(60));
            child.Kill();
            var lastAttempted = child.Reported[^1];

            var loaded = new Checkpoint(new FileSystem(), dir.Path).Load();

            // The save in flight at the kill may or may not have landed; every earlier one had completed.
            // Anything else (a position never saved, ahead of the last attempt, or a torn mix) is a failure.
            Assert.True(loaded.Segment == lastAttempted || loaded.Segment == lastAttempted - 1, $"loaded {loaded}, last attempted save {lastAttempted}");
            Assert.Equal(8 * loaded.Segment, loaded.Offset);
            next = loaded.Segment + 1;
        }
    }

    [Fact]
    public async Task A_directory_held_by_a_live_process_is_refused_and_free_once_it_is_killed()
    {
        using var dir = new TempDirectory();
        using var child = await CrashHelperProcess.StartAsync("append", dir.Path, "65536", "1", "1");

        var error = Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 65536 }));
        Assert.Equal(child.ProcessId, error.HolderProcessId);
        Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains(child.ProcessId.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);

        child.Kill();
        using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 65536 });
        Assert.True(wal.Append([1]));
    }
}
