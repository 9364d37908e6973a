using System.Diagnostics;
using System.Text.Json;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Parsing;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Serilog;

/// <summary>The sink as applications use it: configured from JSON by Serilog.Settings.Configuration, shipping to a Loki.</summary>
public sealed class JsonConfiguredSinkTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private Logger CreateLogger() => SerilogJson.CreateLogger(SerilogJson.Args(_dir.Path, _server.BaseAddress));

    private static JsonElement Line(StoredEntry entry) => JsonDocument.Parse(entry.Line).RootElement;

    private StoredEntry SingleWithTemplate(string template) =>
        Assert.Single(_server.Entries, e => Line(e).TryGetProperty("template", out var t) && t.GetString() == template);

    [Fact]
    public async Task Entries_arrive_while_running_with_service_and_pod_labels_and_the_event_as_json_fields()
    {
        var args = SerilogJson.Args(_dir.Path, _server.BaseAddress);
        args["labels"] = new System.Text.Json.Nodes.JsonObject { ["team"] = "fulfilment" };
        using var logger = SerilogJson.CreateLogger(args);

        logger.ForContext<JsonConfiguredSinkTests>().Information("Order {OrderId} packed by {Packer} in {Seconds} s", 1042, "Ada", 2.5);
        logger.Warning("Queue {Queue} is {Percent}% full", "picking", 91);

        Assert.True(await _server.WaitForEntriesAsync(2, Patience));
        Assert.All(_server.Entries, e =>
        {
            Assert.Equal(SerilogJson.Service, e.LabelMap["service_name"]);
            Assert.Equal(SerilogJson.Instance, e.LabelMap["pod"]);
            Assert.Equal("fulfilment", e.LabelMap["team"]);
        });

        var packed = Line(SingleWithTemplate("Order {OrderId} packed by {Packer} in {Seconds} s"));
        Assert.Equal("info", packed.GetProperty("level").GetString());
        Assert.Equal(typeof(JsonConfiguredSinkTests).FullName, packed.GetProperty("category").GetString());
        Assert.Equal("Order 1042 packed by \"Ada\" in 2.5 s", packed.GetProperty("msg").GetString());
        Assert.Equal(1042, packed.GetProperty("OrderId").GetInt32());
        Assert.Equal("Ada", packed.GetProperty("Packer").GetString());
        Assert.Equal(2.5, packed.GetProperty("Seconds").GetDouble());
        Assert.False(packed.TryGetProperty("SourceContext", out _), "SourceContext is the category, not repeated as a property");

        var queue = Line(SingleWithTemplate("Queue {Queue} is {Percent}% full"));
        Assert.Equal("warn", queue.GetProperty("level").GetString());
        Assert.Equal("", queue.GetProperty("category").GetString());
    }

    [Fact]
    public async Task Entry_timestamp_is_the_event_timestamp_to_the_tick()
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-5).ToOffset(TimeSpan.FromHours(2));
        at = at.AddTicks(1234567 - (at.Ticks % 10_000_000));
        using (var logger = CreateLogger())
        {
            logger.Write(new LogEvent(at, LogEventLevel.Information, null, new MessageTemplateParser().Parse("At a fixed time"), []));
        }

        var entry = Assert.Single(_server.Entries);
        Assert.Equal((at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100, entry.TimestampNs);
    }

    [Fact]
    public async Task Destructured_objects_sequences_and_dictionaries_arrive_as_nested_json()
    {
        var order = new Order(
            42,
            new Customer("Ada", new Address("Leeds", "LS1")),
            [new OrderLine("sku-1", 2), new OrderLine("sku-2", 1)],
            new Dictionary<string, int> { ["rush"] = 1, ["gift"] = 0 });
        using (var logger = CreateLogger())
        {
            logger.Information("Placed {@Order} for {Total:N2} with {Skus} and {Stock}", order, 1234.5m, new[] { "sku-1", "sku-2" }, new Dictionary<int, string> { [7] = "low" });
        }

        var line = Line(SingleWithTemplate("Placed {@Order} for {Total:N2} with {Skus} and {Stock}"));
        var placed = line.GetProperty("Order");
        Assert.Equal("Order", placed.GetProperty("$type").GetString());
        Assert.Equal(42, placed.GetProperty("Id").GetInt32());
        Assert.Equal("Leeds", placed.GetProperty("Customer").GetProperty("Address").GetProperty("City").GetString());
        var lines = placed.GetProperty("Lines");
        Assert.Equal(JsonValueKind.Array, lines.ValueKind);
        Assert.Equal(["sku-1", "sku-2"], lines.EnumerateArray().Select(l => l.GetProperty("Sku").GetString()));
        Assert.Equal(2, lines[0].GetProperty("Quantity").GetInt32());
        var tags = placed.GetProperty("Tags");
        Assert.Equal(JsonValueKind.Object, tags.ValueKind);
        Assert.Equal(1, tags.GetProperty("rush").GetInt32());
        Assert.Equal(["sku-1", "sku-2"], line.GetProperty("Skus").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("low", line.GetProperty("Stock").GetProperty("7").GetString());
        Assert.Equal(1234.5m, line.GetProperty("Total").GetDecimal());

        var msg = line.GetProperty("msg").GetString()!;
        Assert.StartsWith("Placed Order { Id: 42, Customer: Customer { Name: \"Ada\"", msg, StringComparison.Ordinal);
        Assert.Contains(" for 1,234.50 with ", msg, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exceptions_arrive_with_type_message_and_stack_trace()
    {
        using (var logger = CreateLogger())
        {
            try
            {
                ThrowFromTask(7);
            }
            catch (InvalidOperationException e)
            {
                logger.Error(e, "Task {TaskId} failed", 7);
            }

            logger.Fatal(new ExceptionWithBrokenToString(), "Broken {Kind}", "exception");
        }

        var failed = Line(SingleWithTemplate("Task {TaskId} failed"));
        Assert.Equal("error", failed.GetProperty("level").GetString());
        var exception = failed.GetProperty("exception").GetString()!;
        Assert.StartsWith("System.InvalidOperationException: Task 7 ran out of retries", exception, StringComparison.Ordinal);
        Assert.Contains(nameof(ThrowFromTask), exception, StringComparison.Ordinal);

        var broken = Line(SingleWithTemplate("Broken {Kind}"));
        Assert.Equal("critical", broken.GetProperty("level").GetString());
        Assert.Contains(nameof(ExceptionWithBrokenToString), broken.GetProperty("exception").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trace_and_span_ids_of_the_current_activity_arrive_with_the_entry()
    {
        using var source = new ActivitySource("LogPersist.Tests.Serilog");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        string traceId, spanId;
        using (var logger = CreateLogger())
        {
            using var activity = source.StartActivity("process")!;
            traceId = activity.TraceId.ToHexString();
            spanId = activity.SpanId.ToHexString();
            logger.Information("Inside a span");
        }

        var entry = Assert.Single(_server.Entries);
        var metadata = entry.StructuredMetadata.ToDictionary(m => m.Key, m => m.Value);
        var line = Line(entry);
        Assert.Equal(traceId, line.TryGetProperty("trace_id", out var t) ? t.GetString() : metadata["trace_id"]);
        Assert.Equal(spanId, line.TryGetProperty("span_id", out var s) ? s.GetString() : metadata["span_id"]);
    }

    [Fact]
    public async Task Events_below_restrictedToMinimumLevel_are_not_written()
    {
        var args = SerilogJson.Args(_dir.Path, _server.BaseAddress);
        args["restrictedToMinimumLevel"] = "Warning";
        using (var logger = SerilogJson.CreateLogger(args, minimumLevel: "Verbose"))
        {
            logger.Verbose("verbose");
            logger.Debug("debug");
            logger.Information("information");
            logger.Warning("warning");
            logger.Error("error");
        }

        Assert.Equal(["error", "warning"], _server.Entries.Select(e => Line(e).GetProperty("msg").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_level_switch_declared_in_json_filters_what_the_sink_writes()
    {
        var args = SerilogJson.Args(_dir.Path, _server.BaseAddress);
        args["levelSwitch"] = "$sink";
        var switches = new System.Text.Json.Nodes.JsonObject { ["$sink"] = "Error" };
        using (var logger = SerilogJson.CreateLogger(args, levelSwitches: switches))
        {
            logger.Warning("dropped while the switch is at Error");
            logger.Error("kept at Error");
        }

        Assert.Equal("kept at Error", Line(Assert.Single(_server.Entries)).GetProperty("msg").GetString());
    }

    private static void ThrowFromTask(int task) =>
        throw new InvalidOperationException($"Task {task} ran out of retries");

    private sealed record Order(int Id, Customer Customer, IReadOnlyList<OrderLine> Lines, Dictionary<string, int> Tags);

    private sealed record Customer(string Name, Address Address);

    private sealed record Address(string City, string Postcode);

    private sealed record OrderLine(string Sku, int Quantity);

    private sealed class ExceptionWithBrokenToString : Exception
    {
        public override string ToString() => throw new NotSupportedException("no text for you");
    }
}
