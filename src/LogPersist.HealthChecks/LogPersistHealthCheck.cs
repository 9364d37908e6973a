using LogPersist.Pipeline;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LogPersist.HealthChecks;

/// <summary>
/// Evaluates every LogPersist pipeline open in the process (the logging provider's, the Serilog
/// sink's): the worst verdict wins. An Unhealthy verdict is reported with the registration's failure
/// status. Never throws: evaluation reads counters only, and invalid options become a failed check.
/// </summary>
internal sealed class LogPersistHealthCheck(IOptionsMonitor<LogPersistHealthCheckOptions> monitor, string name) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failure = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        LogPersistHealthCheckOptions options;
        try
        {
            options = monitor.Get(name);
        }
        catch (OptionsValidationException e)
        {
            return Task.FromResult(new HealthCheckResult(failure, e.Message, e));
        }

        var report = PipelineHealth.Evaluate(options.Pipelines(), options.ToThresholds());
        var status = report.State switch
        {
            HealthState.Healthy => HealthStatus.Healthy,
            HealthState.Degraded => HealthStatus.Degraded,
            _ => failure,
        };
        return Task.FromResult(new HealthCheckResult(status, report.Description, data: report.Data));
    }
}
