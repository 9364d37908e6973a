using System.Diagnostics;
using System.Text.Json;
using LogPersist;
using LogPersist.Extensions.Logging;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Diagnostics.Buffering;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;

// An orders API that logs through LogPersist. Settings come from the "Logging:LogPersist" section of
// appsettings.json; LOKI_URL (and optionally LOKI_TENANT) in the environment turns shipping on.
//
//   dotnet run --project samples/WebApi
//   curl http://127.0.0.1:5080/orders/42        # and /orders/0 for a logged exception, which also
//                                               # flushes the Debug entries held in the log buffer
//   curl http://127.0.0.1:5080/healthz          # is LogPersist persisting and shipping?
//
// Kill it with kill -9 and start it again: every entry whose log call returned is still in the WAL and
// is shipped by the next run.
//
// Edit appsettings.json while it runs: "MinimumLevel", "Labels", "LokiUrl", "Durability", "MaxDiskBytes"
// and most other settings apply at once (the file is reloaded on change), without losing or sending twice
// an entry; "Directory", "ServiceName" or "SegmentBytes" wait for a restart, and /healthz says so.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddLogPersist();

// On Kubernetes with AdoptOrphans on, a sibling pod's WAL is adopted once the API server says the pod is
// gone, not once its owner record has stood still for the lease. samples/kubernetes/deployment-shared-volume.yaml
// switches it on (KubernetesLiveness__Enabled, __LabelSelector) and grants the RBAC it needs.
if (builder.Configuration.GetValue<bool>("KubernetesLiveness:Enabled"))
{
    builder.Logging.AddKubernetesLiveness(o => o.LabelSelector = builder.Configuration["KubernetesLiveness:LabelSelector"]);
}
// LogPersist records the current trace and span id with every entry; the framework's own
// trace-id scope would repeat them in every line.
builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.None);

// Keep what matters, with what Microsoft.Extensions.Telemetry ships (LogPersist is a plain provider under it):
// Debug entries are sampled, 10 % kept (Information, warnings and errors always); with SAMPLING=trace, only
// the entries of traces the caller recorded are kept instead (a W3C traceparent ending in -01).
if (Environment.GetEnvironmentVariable("SAMPLING") == "trace")
{
    builder.Logging.AddTraceBasedSampler();
}
else
{
    builder.Logging.AddRandomProbabilisticSampler(0.1, LogLevel.Debug);
}

// The Debug entries that were kept wait in a buffer; a rejected order flushes them (below), so the steps
// that led to an error are in Loki, each with the time it was logged at. Nothing else ever writes them.
builder.Logging.AddGlobalBuffer(LogLevel.Debug);

// A classified property ([PersonalData] below) is erased before any provider sees it: it never reaches the WAL.
builder.Logging.EnableRedaction();
builder.Services.AddRedaction(redaction => redaction.SetRedactor<ErasingRedactor>(new DataClassificationSet(SampleTaxonomy.PersonalData)));

// LogPersist's own faults (full disk, refused pushes) go to stderr, never back into the logs it writes.
LogPersistSelfLog.Enable(Console.Error.WriteLine);

// Healthy, Degraded (ship lag or WAL disk use over threshold) or Unhealthy (the WAL cannot write,
// Loki refuses every push, LogPersist not running), served at /healthz below.
builder.Services.AddLogPersistHealthCheck();

// LogPersist's metrics (meter "LogPersist") go to an OpenTelemetry collector when one is configured.
if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
{
    builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter("LogPersist").AddOtlpExporter());
}

var app = builder.Build();
var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orders.Api");
var buffer = app.Services.GetRequiredService<GlobalLogBuffer>();
var provider = app.Services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
Console.WriteLine($"LogPersist WAL: {provider.WalDirectory}");
Console.WriteLine(Environment.GetEnvironmentVariable("LOKI_URL") is { Length: > 0 } loki
    ? $"Shipping to {new Uri(loki).GetLeftPart(UriPartial.Authority)}."
    : "LOKI_URL is not set: entries stay in the WAL.");

app.MapGet("/orders/{id:int}", (int id) =>
{
    var watch = Stopwatch.StartNew();
    using var scope = log.BeginScope("Order {OrderId}", id);
    Log.LookingUp(log, id, "orders-db");
    if (id <= 0)
    {
        try
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Order ids start at 1.");
        }
        catch (ArgumentOutOfRangeException e)
        {
            Log.OrderRejected(log, e, id);
            buffer.Flush();
            return Results.BadRequest(new { error = e.Message });
        }
    }

    var order = new { Id = id, Items = id % 5 + 1, Total = Math.Round(id * 9.95, 2) };
    Log.OrderServed(log, id, order.Items, watch.Elapsed.TotalMilliseconds, $"customer{id}@example.com");
    return Results.Ok(order);
});

app.MapGet("/", () => "LogPersist sample: GET /orders/{id}, GET /healthz");
app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = WriteHealthJson });
app.Run();

// Status, reason and figures (lag, WAL bytes, last error) of each check, as JSON.
static Task WriteHealthJson(HttpContext context, HealthReport report)
{
    context.Response.ContentType = "application/json";
    return context.Response.WriteAsync(JsonSerializer.Serialize(new
    {
        status = report.Status.ToString(),
        checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description, e.Value.Data }),
    }));
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Served order {OrderId} with {Items} items in {ElapsedMs:0.000} ms")]
    public static partial void OrderServed(ILogger logger, int orderId, int items, double elapsedMs, [PersonalData] string customerEmail);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Rejected order {OrderId}")]
    public static partial void OrderRejected(ILogger logger, Exception error, int orderId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Looking up order {OrderId} in {Store}")]
    public static partial void LookingUp(ILogger logger, int orderId, string store);
}

/// <summary>The sample's data classes: what a redactor is chosen for.</summary>
internal static class SampleTaxonomy
{
    public static DataClassification PersonalData { get; } = new("Orders", "PersonalData");
}

/// <summary>Marks a value as personal data: erased before it is logged.</summary>
internal sealed class PersonalDataAttribute() : DataClassificationAttribute(SampleTaxonomy.PersonalData);
