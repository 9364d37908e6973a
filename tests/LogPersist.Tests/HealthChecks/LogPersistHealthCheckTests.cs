using LogPersist.HealthChecks;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog;

namespace LogPersist.Tests.HealthChecks;

public sealed class LogPersistHealthCheckTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private LogPersistOptions Options(string instance = "pod-0") => new()
    {
        Directory = _dir.Path,
        ServiceName = "checked",
        Instance = instance,
        LokiUrl = "",
        FlushTimeout = TimeSpan.Zero,
    };

    private static async Task<HealthReport> RunAsync(Action<IServiceCollection> register)
    {
        var services = new ServiceCollection().AddLogging();
        register(services);
        await using var provider = services.BuildServiceProvider();
        return await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
    }

    [Fact]
    public async Task AddLogPersistHealthCheck_registers_a_check_named_logpersist_that_reports_the_pipeline()
    {
        using var pipeline = LogPipeline.Open(Options());

        var report = await RunAsync(s => s.AddLogPersistHealthCheck(o => o.Pipelines = () => [pipeline]));

        var entry = report.Entries[LogPersistHealthCheckExtensions.DefaultName];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(pipeline.Directory, entry.Data["directory"]);
        Assert.Equal("none (WAL only)", entry.Data["destination"]);
    }

    [Fact]
    public async Task AddLogPersist_on_the_builder_takes_a_name_tags_a_failure_status_and_thresholds()
    {
        using var pipeline = LogPipeline.Open(Options());
        pipeline.Append(Wals.Payload(1));

        var report = await RunAsync(s => s.AddHealthChecks()
            .AddLogPersist("wal-empty", HealthStatus.Degraded, ["ready"], o => o.Pipelines = () => [])
            .AddLogPersist("wal-tiny-cap", tags: ["live"], configure: o =>
            {
                o.Pipelines = () => [pipeline];
                o.MaxDiskFraction = 1e-9;
            }));

        var empty = report.Entries["wal-empty"];
        Assert.Equal(HealthStatus.Degraded, empty.Status);
        Assert.Equal(PipelineHealth.NotRunning, empty.Description);
        Assert.Equal(["ready"], empty.Tags);
        var tiny = report.Entries["wal-tiny-cap"];
        Assert.Equal(HealthStatus.Degraded, tiny.Status);
        Assert.Contains("of its", tiny.Description, StringComparison.Ordinal);
        Assert.Equal(["live"], tiny.Tags);
    }

    [Fact]
    public async Task Invalid_thresholds_fail_the_check_with_every_problem_named()
    {
        var report = await RunAsync(s => s.AddLogPersistHealthCheck(o =>
        {
            o.MaxDiskFraction = 1.5;
            o.MaxShipLag = TimeSpan.Zero;
        }));

        var entry = report.Entries["logpersist"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        var error = Assert.IsType<OptionsValidationException>(entry.Exception);
        Assert.Contains("MaxDiskFraction", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxShipLag", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_check_finds_the_pipeline_of_the_logging_provider_without_being_told()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddLogPersist(o =>
        {
            o.Directory = _dir.Path;
            o.ServiceName = "checked";
            o.Instance = "provider-0";
            o.LokiUrl = "";
            o.FlushTimeout = TimeSpan.Zero;
        }));
        services.AddLogPersistHealthCheck();
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<ILoggerFactory>().CreateLogger("Tests").LogInformation("hello");

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        AssertReports(report.Entries["logpersist"], Path.Combine(_dir.Path, "default", "checked", "provider-0"));
    }

    [Fact]
    public async Task The_check_finds_the_pipeline_of_the_Serilog_sink_and_forgets_it_once_closed()
    {
        var directory = Path.Combine(_dir.Path, "default", "checked", "serilog-0");
        var logger = new LoggerConfiguration().WriteTo.LogPersist(o =>
        {
            o.Directory = _dir.Path;
            o.ServiceName = "checked";
            o.Instance = "serilog-0";
            o.LokiUrl = "";
            o.FlushTimeout = TimeSpan.Zero;
        }).CreateLogger();
        logger.Information("hello");

        AssertReports((await RunAsync(s => s.AddLogPersistHealthCheck())).Entries["logpersist"], directory);
        logger.Dispose();
        Assert.DoesNotContain(PipelineRegistry.Snapshot(), p => p.Directory == directory);
    }

    /// <summary>Other tests' pipelines may be open too: then each pipeline's figures are under its directory.</summary>
    private static void AssertReports(HealthReportEntry entry, string directory)
    {
        var data = entry.Data.TryGetValue(directory, out var own) ? (IReadOnlyDictionary<string, object>)own : entry.Data;
        Assert.Equal(directory, data["directory"]);
        Assert.True((long)data["entries_written"] >= 1);
    }
}
