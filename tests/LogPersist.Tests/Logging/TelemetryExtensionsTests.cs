using System.Diagnostics;
using System.Text.Json;
using LogPersist.Entries;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Buffering;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static LogPersist.Tests.Logging.ProviderSetup;

namespace LogPersist.Tests.Logging;

/// <summary>
/// LogPersist under what Microsoft.Extensions.Telemetry adds to logging, set up as its documentation
/// shows: a global log buffer flushed on demand, a random probabilistic sampler and a trace-based one.
/// </summary>
public sealed class TelemetryExtensionsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private static long WallNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    [Fact]
    public async Task A_flushed_buffer_hands_over_each_record_with_its_own_time_fields_and_order()
    {
        var host = Build(logging => logging.AddGlobalBuffer(LogLevel.Information));
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILogger<TelemetryExtensionsTests>>();
        var logged = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            // The buffer stamps a record with the wall clock, so that is the clock to compare with (the
            // provider's own anchored clock may stand a few microseconds off it).
            logged.Add(WallNs());
            logger.LogInformation(new EventId(40 + i, "Step"), i == 2 ? new InvalidOperationException("step failed") : null, "Step {Step} of order {OrderId}", i, "o-17");
            await Task.Delay(30);
        }

        var flushedAt = WallNs();
        host.Services.GetRequiredService<GlobalLogBuffer>().Flush();
        logger.LogWarning("after the flush");
        await host.StopAsync();
        host.Dispose();

        var entries = Entries();
        Assert.Equal(["Step 0 of order o-17", "Step 1 of order o-17", "Step 2 of order o-17", "after the flush"], entries.Select(e => e.Line.GetProperty("msg").GetString()));
        for (var i = 0; i < 3; i++)
        {
            var (timestamp, line) = entries[i];
            // Logged then, not at the flush: within a few ms of the call, well before the flush.
            Assert.InRange(timestamp, logged[i], logged[i] + 20_000_000);
            Assert.True(timestamp < flushedAt);
            // The buffer keeps each value as its text (it holds no reference to the application's objects),
            // and no trace id.
            Assert.Equal(("info", 40 + i, "Step", "Step {Step} of order {OrderId}", $"{i}", "o-17"), (line.GetProperty("level").GetString(), line.GetProperty("event_id").GetInt32(), line.GetProperty("event_name").GetString(), line.GetProperty("template").GetString(), line.GetProperty("Step").GetString(), line.GetProperty("OrderId").GetString()));
            Assert.Equal(i == 2, line.TryGetProperty("exception", out _));
        }

        Assert.Contains("step failed", entries[2].Line.GetProperty("exception").GetString(), StringComparison.Ordinal);
        Assert.True(entries[3].TimestampNs >= flushedAt);
    }

    [Fact]
    public async Task Entries_a_sampler_leaves_out_never_reach_the_WAL()
    {
        var host = Build(logging => logging.AddRandomProbabilisticSampler(0, LogLevel.Debug));
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILogger<TelemetryExtensionsTests>>();
        for (var i = 0; i < 200; i++)
        {
            logger.LogDebug("detail {I}", i);
            if (i % 20 == 0)
            {
                logger.LogInformation("milestone {I}", i);
            }
        }

        logger.LogError("failed once");
        await host.StopAsync();
        host.Dispose();

        var levels = Entries().Select(e => e.Line.GetProperty("level").GetString()).ToList();
        Assert.DoesNotContain("debug", levels);
        Assert.Equal(10, levels.Count(l => l == "info"));
        Assert.Equal(1, levels.Count(l => l == "error"));
    }

    [Fact]
    public async Task The_trace_based_sampler_keeps_the_entries_of_recorded_traces_only()
    {
        var host = Build(logging => logging.AddTraceBasedSampler());
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILogger<TelemetryExtensionsTests>>();
        foreach (var recorded in (bool[])[true, false, true])
        {
            using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C);
            activity.ActivityTraceFlags = recorded ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
            activity.Start();
            logger.LogInformation("in a {Kind} trace", recorded ? "recorded" : "unrecorded");
        }

        await host.StopAsync();
        host.Dispose();

        Assert.Equal(["in a recorded trace", "in a recorded trace"], Entries().Select(e => e.Line.GetProperty("msg").GetString()));
    }

    private IHost Build(Action<ILoggingBuilder> telemetry)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(Configuration(_root.Path, loki: null));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddLogPersist();
        telemetry(builder.Logging);
        return builder.Build();
    }

    /// <summary>The entries of this test's (closed) WAL: their timestamp and their JSON line.</summary>
    private List<(long TimestampNs, JsonElement Line)> Entries()
    {
        var entries = new List<(long, JsonElement)>();
        using var formatter = new LineFormatter(LineFormat.Json);
        var records = Wals.ReadAll(WalLines.InstanceDirectory(_root.Path), out var reader);
        reader.Dispose();
        foreach (var (kind, payload) in records)
        {
            if (kind == RecordKind.Data && EntryView.TryDecode(payload, out var entry) && entry.Category.SequenceEqual(System.Text.Encoding.UTF8.GetBytes(typeof(TelemetryExtensionsTests).FullName!)))
            {
                using var json = JsonDocument.Parse(formatter.Format(entry, includeTrace: true).ToArray());
                entries.Add((entry.TimestampNs, json.RootElement.Clone()));
            }
        }

        return entries;
    }
}
