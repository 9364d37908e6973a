using System.Diagnostics;
using System.Text.Json;
using LogPersist.Extensions.Logging;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static LogPersist.Tests.Logging.ProviderSetup;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Logging;

public sealed partial class LoggerProviderTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task Levels_and_category_filters_come_from_the_LogPersist_configuration_section()
    {
        var config = Configuration(_root.Path, _server.BaseAddress, logLevels: """{ "Default": "Warning", "Noisy": "None" }""");
        using (var factory = Factory(config))
        {
            factory.CreateLogger("App").LogInformation("below the provider's level");
            factory.CreateLogger("App").LogWarning("kept");
            factory.CreateLogger("Noisy.Component").LogCritical("filtered by category");
            factory.CreateLogger("App").LogError("kept too");
        }

        Assert.Equal(["kept", "kept too"], Lines(_server).Select(l => l.GetProperty("msg").GetString()));
        Assert.Equal(["warn", "error"], Lines(_server).Select(l => l.GetProperty("level").GetString()));
    }

    [Fact]
    public async Task The_minimum_level_option_applies_on_top_of_the_framework_filters()
    {
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress, """, "MinimumLevel": "Error" """)))
        {
            var logger = factory.CreateLogger("App");
            Assert.False(logger.IsEnabled(LogLevel.Warning));
            logger.LogWarning("below the minimum level");
            logger.LogError("at the minimum level");
        }

        Assert.Equal(["at the minimum level"], Lines(_server).Select(l => l.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task Entries_carry_the_configured_labels_template_and_properties()
    {
        var config = Configuration(_root.Path, _server.BaseAddress, """, "Labels": { "team": "payments" }, "LabelProperties": [ "Status" ], "LevelLabel": true""");
        using (var factory = Factory(config))
        {
            RequestAnswered(factory.CreateLogger("Orders.Api"), 7, 201, 12);
        }

        var entry = Assert.Single(_server.Entries);
        Assert.Equal("orders", entry.LabelMap["service_name"]);
        Assert.Equal("orders-0", entry.LabelMap["pod"]);
        Assert.Equal("payments", entry.LabelMap["team"]);
        Assert.Equal("201", entry.LabelMap["Status"]);
        Assert.Equal("info", entry.LabelMap["level"]);
        var line = Line(entry);
        Assert.Equal("Orders.Api", line.GetProperty("category").GetString());
        Assert.Equal("Request 7 answered 201 in 12 ms", line.GetProperty("msg").GetString());
        Assert.Equal("Request {RequestId} answered {Status} in {ElapsedMs} ms", line.GetProperty("template").GetString());
        Assert.Equal(7, line.GetProperty("RequestId").GetInt32());
        Assert.Equal(201, line.GetProperty("Status").GetInt32());
        Assert.Equal(12, line.GetProperty("ElapsedMs").GetInt32());
        Assert.Equal(101, line.GetProperty("event_id").GetInt32());
        Assert.Equal("RequestAnswered", line.GetProperty("event_name").GetString());
        Assert.False(line.TryGetProperty("{OriginalFormat}", out _));
    }

    [Fact]
    public async Task A_formatted_hole_is_rendered_as_the_framework_renders_it()
    {
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            factory.CreateLogger("App").LogInformation("Took {Elapsed:0.00} s for {Count,5} items", 1.5, 3);
        }

        var line = Line(Assert.Single(_server.Entries));
        Assert.Equal("Took 1.50 s for     3 items", line.GetProperty("msg").GetString());
        Assert.Equal(1.5, line.GetProperty("Elapsed").GetDouble());
    }

    [Fact]
    public async Task Scopes_are_recorded_outermost_first()
    {
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            var logger = factory.CreateLogger("App");
            using (logger.BeginScope("Order {OrderId}", 42))
            using (logger.BeginScope("plain scope"))
            using (logger.BeginScope(new Dictionary<string, object?> { ["Tenant"] = "t1" }))
            {
                logger.LogInformation("inside");
            }

            logger.LogInformation("outside");
        }

        var lines = Lines(_server).ToList();
        var scopes = lines[0].GetProperty("scopes");
        Assert.Equal(3, scopes.GetArrayLength());
        Assert.Equal(42, scopes[0].GetProperty("OrderId").GetInt32());
        Assert.Equal("plain scope", scopes[1].GetString());
        Assert.Equal("t1", scopes[2].GetProperty("Tenant").GetString());
        Assert.False(lines[1].TryGetProperty("scopes", out _));
    }

    [Fact]
    public async Task Exceptions_keep_type_message_and_stack()
    {
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            try
            {
                throw new InvalidOperationException("the order was already shipped");
            }
            catch (InvalidOperationException e)
            {
                factory.CreateLogger("App").LogError(e, "Order {OrderId} failed", 9);
            }
        }

        var exception = Line(Assert.Single(_server.Entries)).GetProperty("exception").GetString()!;
        Assert.StartsWith("System.InvalidOperationException: the order was already shipped", exception, StringComparison.Ordinal);
        Assert.Contains(nameof(Exceptions_keep_type_message_and_stack), exception, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_current_activity_gives_trace_and_span_id()
    {
        using var source = new ActivitySource("LogPersist.Tests.Provider");
        using var listener = new ActivityListener { ShouldListenTo = s => s == source, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData };
        ActivitySource.AddActivityListener(listener);
        string traceId, spanId;
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            using (var activity = source.StartActivity("work")!)
            {
                traceId = activity.TraceId.ToHexString();
                spanId = activity.SpanId.ToHexString();
                factory.CreateLogger("App").LogInformation("traced");
            }

            factory.CreateLogger("App").LogInformation("untraced");
        }

        var lines = Lines(_server).ToList();
        Assert.True(lines[0].TryGetProperty("trace_id", out _), lines[0].ToString());
        Assert.Equal(traceId, lines[0].GetProperty("trace_id").GetString());
        Assert.Equal(spanId, lines[0].GetProperty("span_id").GetString());
        Assert.False(lines[1].TryGetProperty("trace_id", out _));
    }

    [Fact]
    public async Task A_state_that_is_not_a_key_value_list_is_logged_through_its_formatter()
    {
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            var logger = factory.CreateLogger("App");
            logger.Log(LogLevel.Information, new EventId(3), new Reading(21.5), null, (r, _) => $"reading {r.Celsius} C");
            logger.Log(LogLevel.Warning, default, "a bare string state", null, (s, _) => s);
            logger.Log(LogLevel.Warning, default, new Reading(-1), null, null!);
        }

        var lines = Lines(_server).ToList();
        Assert.Equal("reading 21.5 C", lines[0].GetProperty("msg").GetString());
        Assert.Equal(3, lines[0].GetProperty("event_id").GetInt32());
        Assert.Equal("a bare string state", lines[1].GetProperty("msg").GetString());
        Assert.Equal("Reading { Celsius = -1 }", lines[2].GetProperty("msg").GetString());
    }

    [Fact]
    public void A_logger_used_after_disposal_drops_and_counts_without_throwing()
    {
        var services = Services(Configuration(_root.Path, loki: null));
        var logger = services.GetRequiredService<ILogger<LoggerProviderTests>>();
        var provider = services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
        logger.LogInformation("before");
        services.Dispose();

        logger.LogInformation("after {Value}", 1);
        using (logger.BeginScope("scope after disposal"))
        {
            logger.LogError(new InvalidOperationException(), "after, with an exception");
        }

        Assert.Equal(1, provider.Pipeline.Wal.Metrics.AppendedRecords);
        Assert.Equal(2, provider.Pipeline.Wal.Metrics.Dropped(WalDropReason.Disposed));
    }

    [Fact]
    public async Task A_value_that_fails_while_encoded_is_counted_and_marked_and_the_next_entry_is_intact()
    {
        long unencodable;
        using (var services = Services(Configuration(_root.Path, _server.BaseAddress)))
        {
            var logger = services.GetRequiredService<ILogger<LoggerProviderTests>>();
            logger.LogInformation("Items {Items}", new ThrowingSequence());
            logger.LogInformation("Next {Value}", 2);
            unencodable = services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single().Pipeline.Wal.Metrics.Dropped(WalDropReason.Unencodable);
        }

        Assert.Equal(1, unencodable);
        var lines = Lines(_server).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal("warn", lines[0].GetProperty("level").GetString());
        Assert.Contains("could not be encoded (InvalidOperationException)", lines[0].GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.Equal("Next 2", lines[1].GetProperty("msg").GetString());
    }

    [Fact]
    public async Task A_value_that_logs_while_it_is_encoded_leaves_both_entries_intact()
    {
        using (var services = Services(Configuration(_root.Path, _server.BaseAddress)))
        {
            var logger = services.GetRequiredService<ILogger<LoggerProviderTests>>();
            logger.LogInformation("Outer {Value} {After}", new LoggingValue(logger), 7);
        }

        var lines = Lines(_server).ToList();
        Assert.Equal(["inner", "Outer formatted 7"], lines.Select(l => l.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task FlushAsync_reports_whether_Loki_acknowledged_everything_by_the_deadline()
    {
        using var services = Services(Configuration(_root.Path, _server.BaseAddress, """, "FlushTimeout": "00:00:00.200" """, batchMaxWait: "00:01:00"));
        var logger = services.GetRequiredService<ILogger<LoggerProviderTests>>();
        var provider = services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
        logger.LogInformation("first");

        Assert.True(await provider.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Single(_server.Entries);

        await _server.StopAsync();
        logger.LogInformation("second");
        Assert.False(await provider.FlushAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void A_missing_directory_is_created_under_the_root_by_namespace_service_and_instance()
    {
        var root = _root.Combine("does", "not", "exist");
        using var services = Services(Configuration(root, loki: null));
        services.GetRequiredService<ILogger<LoggerProviderTests>>().LogInformation("hello");

        var expected = Path.Combine(root, "default", "orders", "orders-0");
        Assert.Equal(expected, services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single().WalDirectory);
        Assert.NotEmpty(Directory.GetFiles(expected, "*.wal"));
    }

    [Fact]
    public void An_unwritable_directory_is_a_start_up_error_naming_the_path()
    {
        var file = _root.Combine("not-a-directory");
        File.WriteAllText(file, "");

        var error = Assert.Throws<InvalidOperationException>(() => Factory(Configuration(file, loki: null)).CreateLogger("App"));

        Assert.Contains(Path.Combine(file, "default", "orders", "orders-0"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_reported_together_at_start()
    {
        var config = Configuration(_root.Path, _server.BaseAddress, """, "MaxInFlight": 0, "BatchMaxBytes": 10, "FlushTimeout": "01:00:00" """);

        var error = Assert.Throws<OptionsValidationException>(() => Factory(config).CreateLogger("App"));

        Assert.Contains("MaxInFlight", error.Message, StringComparison.Ordinal);
        Assert.Contains("BatchMaxBytes", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Contains("FlushTimeout", StringComparison.Ordinal), error.Message);
    }

    [Fact]
    public async Task Configure_overrides_the_configuration_section()
    {
        var config = Configuration(_root.Path, _server.BaseAddress);
        using (var factory = LoggerFactory.Create(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist(o =>
        {
            o.ServiceName = "overridden";
            o.LineFormat = LineFormat.Logfmt;
        })))
        {
            factory.CreateLogger("App").LogInformation("Answered {Status}", 200);
        }

        var entry = Assert.Single(_server.Entries);
        Assert.Equal("overridden", entry.LabelMap["service_name"]);
        Assert.Equal("level=info category=App msg=\"Answered 200\" template=\"Answered {Status}\" Status=200", entry.Line);
    }

    [Fact]
    public async Task Entries_logged_before_a_Loki_outage_are_shipped_by_the_next_run()
    {
        var config = Configuration(_root.Path, new Uri("http://127.0.0.1:1/"), """, "FlushTimeout": "00:00:00.200" """);
        var watch = Stopwatch.StartNew();
        using (var factory = Factory(config))
        {
            factory.CreateLogger("App").LogInformation("written while Loki is unreachable");
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"disposal took {watch.Elapsed}");
        using (var factory = Factory(Configuration(_root.Path, _server.BaseAddress)))
        {
            factory.CreateLogger("App").LogInformation("second run");
        }

        Assert.Equal(["written while Loki is unreachable", "second run"], Lines(_server).Select(l => l.GetProperty("msg").GetString()));
    }

    private static ILoggerFactory Factory(IConfiguration config) =>
        LoggerFactory.Create(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist());

    private static ServiceProvider Services(IConfiguration config) =>
        new ServiceCollection().AddLogging(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist()).BuildServiceProvider();

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Request {RequestId} answered {Status} in {ElapsedMs} ms")]
    private static partial void RequestAnswered(ILogger logger, int requestId, int status, int elapsedMs);

    private sealed record Reading(double Celsius);

    private sealed class LoggingValue(ILogger logger)
    {
        public override string ToString()
        {
            logger.LogInformation("inner");
            return "formatted";
        }
    }

    private sealed class ThrowingSequence : System.Collections.IEnumerable
    {
        public System.Collections.IEnumerator GetEnumerator() => throw new InvalidOperationException("enumeration failed");
    }
}
