using System.Diagnostics;
using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Pipeline;

/// <summary>
/// A pipeline whose directory another holder took waits, on its injected clock, before it looks at
/// the path again; the wait belongs to the pipeline and ends when the pipeline stops.
/// </summary>
public sealed class FencedPipelineTests
{
    /// <summary>The heartbeat, and so the first wait after a fence: an hour, which only a fake clock lets pass within a test.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromHours(1);

    [Fact]
    public async Task A_fenced_pipeline_takes_its_directory_up_again_once_its_clock_has_moved_past_the_wait()
    {
        using var root = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var pipeline = LogPipeline.Open(Options(root, time));
        var fenced = pipeline.Wal;
        Assert.True(pipeline.Append(Entry("before")));

        // A twin wrote its record into the directory and has closed it again: the path is free after one wait.
        TakeOver(fenced.Directory, closed: true);
        fenced.RenewLease();
        Assert.True(fenced.IsFenced);

        await WaitForAsync(() =>
        {
            time.Advance(Heartbeat);
            return !ReferenceEquals(pipeline.Wal, fenced) && !pipeline.Wal.IsFenced;
        }, "the pipeline to open the directory again");

        await WaitForAsync(() => pipeline.MovingOn == 0, "the work of moving on to end");
        Assert.True(pipeline.Append(Entry("after")));
        Assert.Equal(fenced.Directory, pipeline.Wal.Directory);
    }

    [Fact]
    public async Task Stopping_a_pipeline_that_waits_to_reopen_its_fenced_directory_ends_the_wait_and_opens_nothing_afterwards()
    {
        using var root = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var pipeline = LogPipeline.Open(Options(root, time));
        var fenced = pipeline.Wal;
        var directory = fenced.Directory;

        // Another holder still holds the directory: the pipeline closes its WAL and waits to look again.
        TakeOver(directory, closed: false);
        fenced.RenewLease();
        Assert.Equal(1, pipeline.MovingOn);

        // The stop's deadline is on the same clock, which does not move: it returns because the wait ended.
        await pipeline.StopAsync(TimeSpan.FromSeconds(5)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, pipeline.MovingOn);

        // Even once the other holder closes and the clock moves on, the stopped pipeline opens nothing there.
        TakeOver(directory, closed: true);
        time.Advance(Heartbeat * 8);
        Assert.Same(fenced, pipeline.Wal);
        Assert.Equal("orders-a-twin", OwnerRecord.Parse(File.ReadAllText(Path.Combine(directory, OwnerRecord.FileName))).Pod);
        Assert.False(pipeline.Append(Entry("after the stop")));
    }

    /// <summary>What a second holder of the path does: its record, under another token and a later epoch, replaces this instance's.</summary>
    private static void TakeOver(string directory, bool closed)
    {
        var record = OwnerRecord.Parse(File.ReadAllText(Path.Combine(directory, OwnerRecord.FileName)));
        var twin = record.Pod == "orders-a-twin" ? record : record with { Token = "someone-else", Epoch = record.Epoch + 1, Pod = "orders-a-twin" };
        (twin with { State = closed ? OwnerState.Closed : OwnerState.Live }).Write(new System.IO.Abstractions.FileSystem(), directory);
    }

    private static byte[] Entry(string text) => new EntryEncoder().Encode(new LogEntry { Category = "t", Template = text }).ToArray();

    private static LogPersistOptions Options(TempDirectory root, TimeProvider time) => new()
    {
        Directory = root.Path,
        ServiceName = "orders",
        Instance = "orders-a",
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 1L << 30,
        LeaseDuration = Heartbeat * 6,
        HeartbeatInterval = Heartbeat,
        Environment = _ => null,
        TimeProvider = time,
    };

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }
}
