using LogPersist.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LogPersist.HealthChecks;

/// <summary>
/// Evaluates every LogPersist pipeline open in the process (the logging provider's, the Serilog
/// sink's): the worst verdict wins. An Unhealthy verdict is reported with the registration's failure
/// status. Never throws: evaluation reads counters only.
/// </summary>
internal sealed class LogPersistHealthCheck(LogPersistHealthCheckOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = PipelineHealth.Evaluate(options.Pipelines(), options.ToThresholds());
        var status = report.State switch
        {
            HealthState.Healthy => HealthStatus.Healthy,
            HealthState.Degraded => HealthStatus.Degraded,
            _ => context.Registration?.FailureStatus ?? HealthStatus.Unhealthy,
        };
        return Task.FromResult(new HealthCheckResult(status, report.Description, data: report.Data));
    }
}
