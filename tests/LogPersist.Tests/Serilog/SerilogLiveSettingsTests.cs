using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Text.Json;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Core;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Serilog;

/// <summary>
/// <c>WriteTo.LogPersist(section)</c>: the sink follows its configuration section, and what changes there
/// applies while the logger runs, is reported as needing a restart, or is rejected as a whole.
/// </summary>
public sealed class SerilogLiveSettingsTests : IDisposable
{
    private const string Section = "LogPersist";

    private readonly TempDirectory _dir = new();
    private readonly Listener _events = new();

    public void Dispose()
    {
        _events.Dispose();
        _dir.Dispose();
    }

    /// <summary>A configuration whose <c>LogPersist</c> section writes a WAL-only pipeline under the test's directory.</summary>
    private IConfigurationRoot Configuration(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            [$"{Section}:Directory"] = _dir.Path,
            [$"{Section}:ServiceName"] = "orders",
            [$"{Section}:Instance"] = "orders-0",
            [$"{Section}:LokiUrl"] = "",
        };
        foreach (var (key, value) in settings)
        {
            values[$"{Section}:{key}"] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    /// <summary>Changes the section's values and reloads the configuration, as a changed appsettings.json does.</summary>
    private static void Reload(IConfigurationRoot root, params (string Key, string Value)[] settings)
    {
        foreach (var (key, value) in settings)
        {
            root[$"{Section}:{key}"] = value;
        }

        root.Reload();
    }

    private static Logger CreateLogger(IConfigurationRoot root, Action<LogPersistOptions>? configure = null) =>
        new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.LogPersist(root.GetSection(Section), configure).CreateLogger();

    /// <summary>The one open pipeline writing under <paramref name="root"/>.</summary>
    private static LogPipeline PipelineUnder(string root) =>
        PipelineRegistry.Snapshot().Single(p => p.Directory.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    private List<string> WrittenMessages() =>
        [.. WalLines.Read(WalLines.InstanceDirectory(_dir.Path)).Select(l => l.GetProperty("msg").GetString()!)];

    private List<EventWrittenEventArgs> Events(int id, string directory) =>
        [.. _events.Events.Where(e => e.EventId == id && e.Payload?[0] as string == directory)];

    [Fact]
    public void MinimumLevel_raised_in_the_section_applies_to_events_logged_after_the_reload()
    {
        var root = Configuration();
        using (var logger = CreateLogger(root))
        {
            logger.Verbose("before verbose");
            logger.Debug("before debug");
            logger.Information("before information");

            Reload(root, ("MinimumLevel", "Warning"));
            Assert.Equal(EntryLevel.Warning, PipelineUnder(_dir.Path).MinimumLevel);

            logger.Verbose("after verbose");
            logger.Debug("after debug");
            logger.Information("after information");
            logger.Warning("after warning");
            logger.Error("after error");
            logger.Fatal("after fatal");
        }

        Assert.Equal(
            ["before verbose", "before debug", "before information", "after warning", "after error", "after fatal"],
            WrittenMessages());
    }

    [Fact]
    public void MinimumLevel_lowered_in_the_section_lets_through_what_it_held_back()
    {
        var root = Configuration(("MinimumLevel", "Error"));
        using (var logger = CreateLogger(root))
        {
            logger.Warning("before warning");
            Reload(root, ("MinimumLevel", "Debug"));
            logger.Verbose("after verbose");
            logger.Debug("after debug");
        }

        Assert.Equal(["after debug"], WrittenMessages());
    }

    [Fact]
    public void Invalid_values_on_reload_are_rejected_in_one_event_and_the_running_settings_stay()
    {
        var root = Configuration();
        using (var logger = CreateLogger(root))
        {
            var pipeline = PipelineUnder(_dir.Path);
            logger.Information("before");

            var reload = Record.Exception(() => Reload(
                root,
                ("MinimumLevel", "Error"),
                ("FlushTimeout", "01:00:00"),
                ("MaxLabelNames", "0")));

            Assert.Null(reload);
            var rejected = Assert.Single(Events(33, pipeline.Directory));
            var problems = (string)rejected.Payload![1]!;
            Assert.Contains("FlushTimeout", problems, StringComparison.Ordinal);
            Assert.Contains("MaxLabelNames", problems, StringComparison.Ordinal);
            Assert.Equal(EntryLevel.Trace, pipeline.MinimumLevel);
            Assert.Empty(Events(35, pipeline.Directory));

            logger.Information("after");
        }

        Assert.Equal(["before", "after"], WrittenMessages());
    }

    [Fact]
    public void Values_that_do_not_convert_on_reload_are_all_named_in_one_event_and_the_running_settings_stay()
    {
        var root = Configuration();
        using (var logger = CreateLogger(root))
        {
            var pipeline = PipelineUnder(_dir.Path);
            logger.Information("before");

            var reload = Record.Exception(() => Reload(
                root,
                ("MinimumLevel", "Loud"),
                ("MaxInFlight", "many"),
                ("FlushTimeout", "00:00:01")));

            Assert.Null(reload);
            var problems = (string)Assert.Single(Events(33, pipeline.Directory)).Payload![1]!;
            Assert.Contains("LogPersist:MinimumLevel", problems, StringComparison.Ordinal);
            Assert.Contains("LogPersist:MaxInFlight", problems, StringComparison.Ordinal);
            Assert.Equal(EntryLevel.Trace, pipeline.MinimumLevel);
            Assert.Empty(Events(35, pipeline.Directory));

            logger.Verbose("after");
        }

        Assert.Equal(["before", "after"], WrittenMessages());
    }

    [Fact]
    public void A_configure_delegate_that_throws_on_reload_is_reported_and_nothing_escapes_into_the_reload()
    {
        var root = Configuration();
        var calls = 0;
        using (var logger = CreateLogger(root, _ =>
        {
            if (++calls > 1)
            {
                throw new FormatException("configure failed on reload");
            }
        }))
        {
            var pipeline = PipelineUnder(_dir.Path);

            var reload = Record.Exception(() => Reload(root, ("MinimumLevel", "Error")));

            Assert.Null(reload);
            var problems = (string)Assert.Single(Events(33, pipeline.Directory)).Payload![1]!;
            Assert.Contains("configure failed on reload", problems, StringComparison.Ordinal);
            Assert.Equal(EntryLevel.Trace, pipeline.MinimumLevel);
            logger.Information("after");
        }

        Assert.Equal(["after"], WrittenMessages());
    }

    [Fact]
    public void A_fixed_setting_changed_is_reported_once_named_for_the_health_check_and_entries_stay_in_the_running_directory()
    {
        var root = Configuration();
        var elsewhere = _dir.Combine("elsewhere");
        using (var logger = CreateLogger(root))
        {
            var pipeline = PipelineUnder(_dir.Path);
            var running = pipeline.Directory;
            logger.Information("before");

            Reload(root, ("Directory", elsewhere), ("SegmentBytes", "65536"), ("MinimumLevel", "Information"));

            var restart = (string)Assert.Single(Events(34, running)).Payload![1]!;
            Assert.Contains("Directory", restart, StringComparison.Ordinal);
            Assert.Contains("SegmentBytes", restart, StringComparison.Ordinal);
            Assert.Contains("Directory", pipeline.RestartNeeded, StringComparison.Ordinal);
            Assert.Contains("SegmentBytes", pipeline.RestartNeeded, StringComparison.Ordinal);
            Assert.Empty(Events(33, running));
            Assert.Equal(EntryLevel.Information, pipeline.MinimumLevel);

            Reload(root, ("MinimumLevel", "Warning"));

            Assert.Single(Events(34, running));
            Assert.Contains("Directory", pipeline.RestartNeeded, StringComparison.Ordinal);
            Assert.Equal(EntryLevel.Warning, pipeline.MinimumLevel);
            Assert.Equal(running, pipeline.Directory);
            var health = PipelineHealth.Evaluate([pipeline], new HealthThresholds());
            Assert.Equal(HealthState.Degraded, health.State);
            Assert.Contains("restart to apply", health.Description, StringComparison.Ordinal);

            logger.Information("after, below the level");
            logger.Warning("after");
        }

        Assert.Equal(["before", "after"], WrittenMessages());
        Assert.False(Directory.Exists(elsewhere), "nothing is written to the directory configured while running");
    }

    [Fact]
    public void A_fixed_setting_changed_back_clears_the_restart_notice()
    {
        var root = Configuration();
        using var logger = CreateLogger(root);
        var pipeline = PipelineUnder(_dir.Path);

        Reload(root, ("Instance", "orders-1"));
        Assert.Contains("Instance", pipeline.RestartNeeded, StringComparison.Ordinal);

        Reload(root, ("Instance", "orders-0"));
        Assert.Null(pipeline.RestartNeeded);
    }

    [Fact]
    public void Values_that_do_not_convert_at_start_fail_WriteTo_naming_each()
    {
        var root = Configuration(("MaxInFlight", "many"), ("Durability", "Forever"));

        var error = Assert.Throws<InvalidOperationException>(() => CreateLogger(root));

        Assert.Contains("LogPersist:MaxInFlight", error.Message, StringComparison.Ordinal);
        Assert.Contains("LogPersist:Durability", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Path));
    }

    [Fact]
    public void The_configure_delegate_applies_after_the_section_at_start_and_on_every_reload()
    {
        var root = Configuration(("MinimumLevel", "Debug"));
        using (var logger = CreateLogger(root, o => o.MinimumLevel = o.MinimumLevel < EntryLevel.Warning ? EntryLevel.Information : o.MinimumLevel))
        {
            var pipeline = PipelineUnder(_dir.Path);
            Assert.Equal(EntryLevel.Information, pipeline.MinimumLevel);

            Reload(root, ("MinimumLevel", "Error"));
            Assert.Equal(EntryLevel.Error, pipeline.MinimumLevel);

            Reload(root, ("MinimumLevel", "Trace"));
            Assert.Equal(EntryLevel.Information, pipeline.MinimumLevel);
        }
    }

    [Fact]
    public void After_the_logger_is_disposed_a_reload_is_no_longer_followed()
    {
        var root = Configuration();
        var logger = CreateLogger(root);
        var directory = PipelineUnder(_dir.Path).Directory;
        logger.Dispose();

        var reload = Record.Exception(() => Reload(root, ("MinimumLevel", "Loud"), ("Directory", _dir.Combine("elsewhere"))));

        Assert.Null(reload);
        Assert.Empty(Events(33, directory));
        Assert.Empty(Events(34, directory));
    }

    [Fact]
    public void ReadFrom_Configuration_passes_the_configuration_argument_as_a_section_that_follows_reloads()
    {
        var file = _dir.Combine("appsettings.json");
        var wal = _dir.Combine("wal");
        File.WriteAllText(file, AppSettings(wal, "Information"));
        var root = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: false).Build();
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(root).CreateLogger())
        {
            var pipeline = PipelineUnder(wal);
            Assert.Equal(EntryLevel.Information, pipeline.MinimumLevel);
            logger.Debug("before debug");
            logger.Information("before information");

            File.WriteAllText(file, AppSettings(wal, "Error"));
            root.Reload();

            Assert.Equal(EntryLevel.Error, pipeline.MinimumLevel);
            logger.Warning("after warning");
            logger.Error("after error");
        }

        var lines = WalLines.Read(WalLines.InstanceDirectory(wal));
        Assert.Equal(["before information", "after error"], lines.Select(l => l.GetProperty("msg").GetString()));
    }

    [Fact]
    public void ReadFrom_Configuration_applies_restrictedToMinimumLevel_next_to_the_configuration_argument()
    {
        var file = _dir.Combine("appsettings.json");
        var wal = _dir.Combine("wal");
        File.WriteAllText(file, AppSettings(wal, "Trace", restrictedToMinimumLevel: "Information"));
        var root = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: false).Build();
        using (var logger = new LoggerConfiguration().ReadFrom.Configuration(root).CreateLogger())
        {
            Assert.Equal(EntryLevel.Trace, PipelineUnder(wal).MinimumLevel);
            logger.Debug("debug");
            logger.Information("information");
        }

        var lines = WalLines.Read(WalLines.InstanceDirectory(wal));
        Assert.Equal(["information"], lines.Select(l => l.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task A_LokiUrl_moved_in_the_section_while_logging_ships_every_event_exactly_once_across_both_servers()
    {
        await using var first = await TestServer.StartAsync();
        await using var second = await TestServer.StartAsync();
        var root = Configuration(("LokiUrl", first.BaseAddress.ToString()), ("BatchMaxWait", "00:00:00.020"), ("FlushTimeout", "00:00:30"));
        const int Count = 2000;
        using (var logger = CreateLogger(root))
        {
            for (var i = 0; i < Count; i++)
            {
                logger.Information("Task {Seq} done", i);
                if (i == Count / 2)
                {
                    Assert.True(await first.WaitForEntriesAsync(1, Patience), "the first server received entries before the move");
                    Reload(root, ("LokiUrl", second.BaseAddress.ToString()));
                }
            }

            Assert.True(await second.WaitForEntriesAsync(1, Patience), "the second server received entries after the move");
        }

        var firstSeqs = Sequences(first.Entries);
        var secondSeqs = Sequences(second.Entries);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (long)i), firstSeqs.Concat(secondSeqs).Order());
        Assert.Contains(Count - 1L, secondSeqs);
        Resends.AssertNone(first);
        Resends.AssertNone(second);
    }

    private static string AppSettings(string wal, string minimumLevel, string restrictedToMinimumLevel = "Verbose") => JsonSerializer.Serialize(new
    {
        Serilog = new
        {
            Using = new[] { "LogPersist.Serilog" },
            MinimumLevel = "Verbose",
            WriteTo = new object[]
            {
                new
                {
                    Name = "LogPersist",
                    Args = new
                    {
                        configuration = new { Directory = wal, ServiceName = "orders", Instance = "orders-0", LokiUrl = "", MinimumLevel = minimumLevel },
                        restrictedToMinimumLevel,
                    },
                },
            },
        },
    });

    /// <summary>Collects the LogPersist EventSource's events while the test runs.</summary>
    private sealed class Listener : EventListener
    {
        public ConcurrentQueue<EventWrittenEventArgs> Events { get; } = new();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "LogPersist")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData) => Events.Enqueue(eventData);
    }
}
