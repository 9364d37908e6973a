using LogPersist.Diagnostics;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Diagnostics;

/// <summary>The self-log callback is process-wide, so its tests run one after another in this class.</summary>
public sealed class SelfLogTests : IDisposable
{
    private readonly List<string> _lines = [];

    public void Dispose() => LogPersistSelfLog.Disable();

    private string[] Lines(string containing)
    {
        Assert.True(LogPersistSelfLog.WaitForDelivery(TimeSpan.FromSeconds(10)));
        lock (_lines)
        {
            return [.. _lines.Where(l => l.Contains(containing, StringComparison.Ordinal))];
        }
    }

    private void Capture(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    [Fact]
    public void Opening_a_pipeline_says_which_file_system_holds_the_WAL_and_what_its_durability_gives_there()
    {
        LogPersistSelfLog.Enable(Capture);
        using var dir = new TempDirectory();
        using (var pipeline = LogPersist.Pipeline.LogPipeline.Open(new LogPersistOptions
        {
            Directory = dir.Path,
            ServiceName = "orders",
            Instance = "orders-0",
            LokiUrl = "",
            Durability = WalDurability.Interval,
            Environment = _ => null,
        }))
        {
            var volume = LogPersist.Wal.VolumeInfo.Detect(pipeline.Directory);
            var line = Assert.Single(Lines("' is on a "), l => l.Contains(pipeline.Directory, StringComparison.Ordinal));
            Assert.Contains($"is on a {volume.Kind.ToString().ToLowerInvariant()} file system ({volume.FileSystemType}); durability Interval: ", line, StringComparison.Ordinal);
            Assert.EndsWith(volume.DurabilityNote(WalDurability.Interval, TimeSpan.FromMilliseconds(200)), line, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(WalDurability.PageCache, true)]
    [InlineData(WalDurability.Interval, false)]
    public void A_WAL_on_a_network_volume_without_syncs_is_warned_about(WalDurability durability, bool warned)
    {
        LogPersistSelfLog.Enable(Capture);
        using var dir = new TempDirectory();
        using var pipeline = LogPersist.Pipeline.LogPipeline.Open(new LogPersistOptions
        {
            Directory = dir.Path,
            ServiceName = "orders",
            Instance = "orders-" + durability,
            LokiUrl = "",
            Durability = durability,
            Environment = _ => null,
            VolumeDetector = _ => new LogPersist.Wal.VolumeInfo("nfs4", LogPersist.Wal.VolumeKind.Network),
        });

        var lines = Lines("' is on a ").Where(l => l.Contains(pipeline.Directory, StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("is on a network file system (nfs4); durability " + durability, StringComparison.Ordinal));
        Assert.Equal(warned, lines.Any(l => l.Contains("Warning", StringComparison.Ordinal) && l.Contains("Durability Interval is recommended", StringComparison.Ordinal)));
    }

    [Fact]
    public void Adoption_switched_on_without_a_Loki_URL_says_that_nothing_is_adopted()
    {
        LogPersistSelfLog.Enable(Capture);
        using var dir = new TempDirectory();
        using var pipeline = LogPersist.Pipeline.LogPipeline.Open(new LogPersistOptions
        {
            Directory = dir.Path,
            ServiceName = "orders",
            Instance = "orders-0",
            LokiUrl = "",
            AdoptOrphans = true,
            Environment = _ => null,
        });

        Assert.Null(pipeline.Adopter);
        Assert.Single(Lines("AdoptOrphans is on, but no Loki URL is set"), l => l.Contains(pipeline.Directory, StringComparison.Ordinal));
    }

    [Fact]
    public void The_callback_receives_formatted_events_at_most_ten_per_minute_for_one_directory()
    {
        LogPersistSelfLog.Enable(Capture);
        var directory = "/wal/" + Guid.NewGuid().ToString("N");
        var other = "/wal/" + Guid.NewGuid().ToString("N");

        for (var i = 0; i < 25; i++)
        {
            LogPersistEventSource.Log.RecordsDropped(directory, "no_space", 1);
        }

        LogPersistEventSource.Log.RecordsDropped(other, "wal_full", 7);

        var lines = Lines(directory);
        Assert.Equal(EventRateLimiter.DefaultLimit, lines.Length);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z LogPersist Warning: WAL '/wal/[0-9a-f]+': dropped 1 records \(no_space\)$", lines[0]);
        Assert.Single(Lines(other + "': dropped 7 records (wal_full)"));
    }

    [Fact]
    public void A_callback_that_blocks_holds_up_no_event_and_lines_it_missed_are_counted()
    {
        using var gate = new ManualResetEventSlim();
        LogPersistSelfLog.Enable(line =>
        {
            gate.Wait();
            Capture(line);
        });

        // Distinct directories, so the rate limit lets every one through: far more than the queue holds.
        var run = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 3000; i++)
        {
            LogPersistEventSource.Log.RecordsDropped($"/wal/{run}/{i}", "no_space", 1);
        }

        gate.Set();

        Assert.InRange(Lines("/wal/" + run + "/").Length, 1, 2999);
        Assert.NotEmpty(Lines("self-log lines were dropped because the callback did not keep up"));
    }

    [Fact]
    public void After_Disable_the_callback_receives_nothing_and_a_throwing_callback_is_ignored()
    {
        var directory = "/wal/" + Guid.NewGuid().ToString("N");
        LogPersistSelfLog.Enable(_ => throw new InvalidOperationException("broken sink"));
        LogPersistEventSource.Log.OperationFailed(directory, "sync", "first");
        Assert.True(LogPersistSelfLog.WaitForDelivery(TimeSpan.FromSeconds(10)));
        LogPersistSelfLog.Enable(Capture);
        LogPersistEventSource.Log.OperationFailed(directory, "sync", "second");
        Assert.True(LogPersistSelfLog.WaitForDelivery(TimeSpan.FromSeconds(10)));
        LogPersistSelfLog.Disable();
        LogPersistEventSource.Log.OperationFailed(directory, "sync", "third");

        Assert.Equal([$"WAL '{directory}': sync failed: second"], Lines(directory).Select(l => l[(l.IndexOf("Error: ", StringComparison.Ordinal) + 7)..]));
    }

    [Fact]
    public void The_limiter_admits_ten_per_kind_and_scope_each_minute_and_then_reports_how_many_it_suppressed()
    {
        var time = new ManualTime();
        var limiter = new EventRateLimiter(time);
        var admitted = Enumerable.Range(0, 25).Count(_ => limiter.TryAdmit(4, "/a", out IReadOnlyList<SuppressedEvents> _));
        Assert.True(limiter.TryAdmit(4, "/b", out _), "another directory has its own budget");
        Assert.True(limiter.TryAdmit(5, "/a", out _), "another kind of event has its own budget");
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(limiter.TryAdmit(4, "/a", out var early));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAdmit(4, "/a", out var ended));

        Assert.Equal(10, admitted);
        Assert.Empty(early);
        Assert.Equal([new SuppressedEvents(4, "/a", 16)], ended);
    }

    [Fact]
    public void Suppressed_counts_of_a_kind_that_stopped_are_reported_with_the_next_event_of_any_kind()
    {
        var time = new ManualTime();
        var limiter = new EventRateLimiter(time, limit: 2, interval: TimeSpan.FromSeconds(10));
        for (var i = 0; i < 5; i++)
        {
            limiter.TryAdmit(8, null, out _);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.TryAdmit(13, null, out var ended));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.TryAdmit(13, null, out var later));

        Assert.Equal([new SuppressedEvents(8, "", 3)], ended);
        Assert.Empty(later);
    }

    [Fact]
    public void The_summary_event_reads_as_a_sentence()
    {
        LogPersistSelfLog.Enable(Capture);
        var scope = "/wal/" + Guid.NewGuid().ToString("N");

        LogPersistEventSource.Log.EventsSuppressed(4, scope, 16);

        Assert.EndsWith($"LogPersist Warning: 16 more events like event 4 ({scope}) were suppressed in the last minute", Assert.Single(Lines(scope)));
    }
}
