using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Pipeline;

public sealed class PipelineHealthTests : IDisposable
{
    private const long Segment = 8192;
    private readonly TempDirectory _dir = new();
    private readonly HealthThresholds _defaults = new();

    public void Dispose() => _dir.Dispose();

    private LogPipeline Open(Action<LogPersistOptions>? configure = null)
    {
        var options = new LogPersistOptions
        {
            Directory = _dir.Path,
            ServiceName = "health",
            Instance = "pod-0",
            LokiUrl = "",
            StructuredMetadata = StructuredMetadataMode.Off,
            FlushTimeout = TimeSpan.Zero,
            Environment = _ => null,
        };
        configure?.Invoke(options);
        return LogPipeline.Open(options);
    }

    private static void LogEntries(LogPipeline pipeline, int count, TimeProvider time)
    {
        var encoder = new EntryEncoder();
        for (var i = 0; i < count; i++)
        {
            Assert.True(pipeline.Append(encoder.Encode(Entry(i, LogEntry.NowNs(time)))));
        }
    }

    [Fact]
    public async Task Healthy_while_entries_are_written_and_acknowledged_with_the_figures_in_the_data()
    {
        using var pipeline = Open(o =>
        {
            o.LokiUrl = "http://user:secret@loki.example:3100";
            o.HttpHandler = new ScriptedHandler(ScriptedHandler.Status(204));
        });
        LogEntries(pipeline, 3, TimeProvider.System);
        Assert.True(await pipeline.FlushAsync(Patience));

        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Healthy, report.State);
        Assert.Contains(pipeline.Directory, report.Description, StringComparison.Ordinal);
        Assert.Equal(pipeline.Directory, report.Data["directory"]);
        Assert.Equal("http://loki.example:3100/loki/api/v1/push", report.Data["destination"]);
        Assert.Equal(0.0, report.Data["ship_lag_seconds"]);
        Assert.True((long)report.Data["entries_shipped"] >= 3);
        Assert.True((long)report.Data["wal_bytes"] > 0);
        Assert.Equal(1L << 30, report.Data["wal_max_bytes"]);
        Assert.Equal(0L, report.Data["entries_dropped"]);
        Assert.DoesNotContain(report.Data.Values, v => v.ToString()!.Contains("secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Degraded_when_the_ship_lag_passes_five_minutes_while_Loki_is_unreachable()
    {
        var time = new ManualTime();
        var handler = new ScriptedHandler(ScriptedHandler.Refused());
        using var pipeline = Open(o =>
        {
            o.LokiUrl = "http://loki.example:3100";
            o.HttpHandler = handler;
            o.TimeProvider = time;
        });
        LogEntries(pipeline, 1, time);
        _ = pipeline.FlushAsync(TimeSpan.FromSeconds(1));
        await handler.WaitForCallsAsync(1);

        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(HealthState.Healthy, PipelineHealth.Evaluate(pipeline, _defaults).State);
        time.Advance(TimeSpan.FromMinutes(2));
        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Degraded, report.State);
        Assert.Equal(360.0, report.Data["ship_lag_seconds"]);
        Assert.Contains("lags", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unhealthy_when_Loki_has_answered_401_to_every_push_for_the_refusal_timeout()
    {
        var time = new ManualTime();
        var handler = new ScriptedHandler(ScriptedHandler.Status(401, body: "no org id"));
        using var pipeline = Open(o =>
        {
            o.LokiUrl = "http://loki.example:3100";
            o.HttpHandler = handler;
            o.TimeProvider = time;
        });
        LogEntries(pipeline, 1, time);
        _ = pipeline.FlushAsync(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => pipeline.Shipper!.Refusals.RefusingSince is not null, "the first refusal");

        time.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(HealthState.Healthy, PipelineHealth.Evaluate(pipeline, _defaults).State);
        time.Advance(TimeSpan.FromSeconds(1));
        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Unhealthy, report.State);
        Assert.Contains("refused every push for 120 s", report.Description, StringComparison.Ordinal);
        Assert.Equal(401, report.Data["last_refused_status"]);
        Assert.Contains("HTTP 401", (string)report.Data["last_error"], StringComparison.Ordinal);
        Assert.Equal("2026-01-01T00:00:00.0000000+00:00", report.Data["refusing_since"]);
    }

    public static TheoryData<string, WalFullMode, string> WriteFailures => new()
    {
        { "no space", WalFullMode.DropNewest, "no_space" },
        { "no space", WalFullMode.DropOldest, "no_space" },
        { "permission", WalFullMode.DropNewest, "io_error" },
        { "cap", WalFullMode.DropNewest, "wal_full" },
        { "cap", WalFullMode.Block, "wal_full" },
    };

    [Theory]
    [MemberData(nameof(WriteFailures))]
    public void Unhealthy_when_the_WAL_cannot_open_a_segment(string fault, WalFullMode mode, string failure)
    {
        var fileSystem = new FaultyFileSystem();
        var failing = false;
        fileSystem.Fault = path => failing && path.EndsWith(".wal.tmp", StringComparison.Ordinal)
            ? fault == "permission" ? new UnauthorizedAccessException("Access denied: " + path) : FaultyFileSystem.NoSpace(path)
            : null;
        using var pipeline = Open(o =>
        {
            o.SegmentBytes = Segment;
            o.MaxDiskBytes = fault == "cap" ? 2 * Segment : 64 * Segment;
            o.FullMode = mode;
            o.BlockTimeout = TimeSpan.FromMilliseconds(1);
            o.FileSystem = fileSystem;
        });
        failing = fault != "cap";
        for (var i = 0; i < 300; i++)
        {
            pipeline.Append(Wals.Payload(i, 100));
        }

        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Unhealthy, report.State);
        Assert.Equal(failure, report.Data["wal_write_failure"]);
        Assert.True((long)report.Data["entries_dropped"] > 0);
        Assert.Contains("The WAL ", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Degraded_not_unhealthy_when_the_WAL_is_full_and_drops_its_oldest_entries_as_configured()
    {
        using var pipeline = Open(o =>
        {
            o.SegmentBytes = Segment;
            o.MaxDiskBytes = 4 * Segment;
        });
        for (var i = 0; i < 2000; i++)
        {
            Assert.True(pipeline.Append(Wals.Payload(i, 100)));
        }

        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Degraded, report.State);
        Assert.False(report.Data.ContainsKey("wal_write_failure"));
        Assert.True((double)report.Data["wal_disk_fraction"] >= 0.8);
        Assert.True((long)report.Data["entries_dropped"] > 0);
        Assert.Equal("DropOldest", report.Data["wal_full_mode"]);
        Assert.Contains("oldest", report.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Unhealthy_when_no_pipeline_is_open()
    {
        var report = PipelineHealth.Evaluate([], _defaults);

        Assert.Equal(HealthState.Unhealthy, report.State);
        Assert.Equal(PipelineHealth.NotRunning, report.Description);
    }

    [Fact]
    public void With_several_pipelines_the_worst_wins_and_the_data_is_keyed_by_directory()
    {
        using var full = Open(o =>
        {
            o.Instance = "full";
            o.SegmentBytes = Segment;
            o.MaxDiskBytes = 4 * Segment;
        });
        using var fresh = Open(o => o.Instance = "fresh");
        for (var i = 0; i < 1000; i++)
        {
            full.Append(Wals.Payload(i, 100));
        }

        var report = PipelineHealth.Evaluate([full, fresh], _defaults);

        Assert.Equal(HealthState.Degraded, report.State);
        Assert.StartsWith($"[{full.Directory}]", report.Description, StringComparison.Ordinal);
        Assert.Equal(fresh.Directory, ((IReadOnlyDictionary<string, object>)report.Data[fresh.Directory])["directory"]);
        Assert.True((double)((IReadOnlyDictionary<string, object>)report.Data[full.Directory])["wal_disk_fraction"] >= 0.8);
    }

    [Fact]
    public async Task Open_pipelines_are_registered_until_they_stop()
    {
        var pipeline = Open();
        Assert.Contains(pipeline, PipelineRegistry.Snapshot());

        await pipeline.StopAsync(TimeSpan.Zero);

        Assert.DoesNotContain(pipeline, PipelineRegistry.Snapshot());
    }

    [Fact]
    public async Task A_refusal_streak_of_401_ends_when_Loki_accepts_again()
    {
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        await using var shipper = new Shipper(wal, Options(new Uri("http://127.0.0.1:1")), new ScriptedHandler(ScriptedHandler.Status(401), ScriptedHandler.Status(204)));
        Log(wal, 0, 3);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        Assert.Equal(401, shipper.Refusals.LastRefusedStatus);
        Assert.Null(shipper.Refusals.RefusingSince);
    }

    [Fact]
    public async Task A_400_refusing_every_entry_starts_a_refusal_streak()
    {
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var handler = new ScriptedHandler(ScriptedHandler.Status(400, body: "entry too far behind\nentry too far behind\nentry too far behind\ntotal ignored: 3 out of 3"));
        await using var shipper = new Shipper(wal, Options(new Uri("http://127.0.0.1:1")), handler);
        Log(wal, 0, 3);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        Assert.NotNull(shipper.Refusals.RefusingSince);
        Assert.Equal(400, shipper.Refusals.LastRefusedStatus);
        Assert.Equal("entry too far behind", shipper.LastRefusalReason);
    }

    [Fact]
    public async Task A_partly_accepted_batch_ends_a_refusal_streak()
    {
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var handler = new ScriptedHandler(
            ScriptedHandler.Status(403),
            ScriptedHandler.Status(400, body: "entry too far behind\ntotal ignored: 1 out of 3"),
            ScriptedHandler.Status(204));
        await using var shipper = new Shipper(wal, Options(new Uri("http://127.0.0.1:1")), handler);
        Log(wal, 0, 3);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        Assert.Equal(403, shipper.Refusals.LastRefusedStatus);
        Assert.Null(shipper.Refusals.RefusingSince);
    }

    [Fact]
    public async Task Degraded_while_Loki_answers_260_and_stores_nothing()
    {
        var handler = new ScriptedHandler(ScriptedHandler.Status(260, body: "ingestion blocked for user 'fake' until '2030-01-01T00:00:00Z' with status code '260'"));
        using var pipeline = Open(o =>
        {
            o.LokiUrl = "http://127.0.0.1:1";
            o.HttpHandler = handler;
        });
        LogEntries(pipeline, 3, TimeProvider.System);

        // The wait before the next attempt runs to the time Loki named, cut to RetryAfterLimit (10 minutes).
        await WaitForAsync(() => pipeline.Shipper!.Blocked is not null, "the blocked answer");
        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(1, handler.Calls);
        Assert.Equal(HealthState.Degraded, report.State);
        Assert.Contains("HTTP 260", report.Description, StringComparison.Ordinal);
        Assert.Contains("2030-01-01", report.Description, StringComparison.Ordinal);
        Assert.Equal(260, report.Data["ingestion_blocked_status"]);
    }

    [Fact]
    public async Task Unhealthy_naming_the_limit_while_Loki_refuses_a_stream_for_its_labels_until_it_accepts_it()
    {
        const string Refusal = "entry for stream '{pod=\"pod-0\", service_name=\"health\"}' has 3 label names; limit 2";
        var handler = new ScriptedHandler(ScriptedHandler.Status(400, body: Refusal), ScriptedHandler.Status(400, body: Refusal), ScriptedHandler.Status(204));
        using var pipeline = Open(o =>
        {
            o.LokiUrl = "http://127.0.0.1:1";
            o.HttpHandler = handler;
        });
        LogEntries(pipeline, 3, TimeProvider.System);
        await handler.WaitForCallsAsync(1);
        await WaitForAsync(() => pipeline.Shipper!.RejectedStreams.Count == 1, "the stream refused");

        var report = PipelineHealth.Evaluate(pipeline, _defaults);

        Assert.Equal(HealthState.Unhealthy, report.State);
        Assert.Contains("limit 2", report.Description, StringComparison.Ordinal);
        Assert.Equal(1, report.Data["refused_streams"]);

        LogEntries(pipeline, 3, TimeProvider.System);
        await WaitForAsync(() => pipeline.Shipper!.RejectedStreams.Count == 0, "the stream accepted again");
        Assert.NotEqual(HealthState.Unhealthy, PipelineHealth.Evaluate(pipeline, _defaults).State);
    }
}
