using LogPersist.Pipeline;

namespace LogPersist.HealthChecks;

/// <summary>
/// Thresholds of the LogPersist health check. The check is Unhealthy when entries are not being
/// persisted or can never be shipped, Degraded when shipping lags or the WAL nears its disk cap.
/// </summary>
public sealed class LogPersistHealthCheckOptions
{
    /// <summary>Degraded when the oldest entry not yet acknowledged by Loki is at least this old.</summary>
    /// <value>The default is 5 minutes.</value>
    public TimeSpan MaxShipLag { get; set; } = HealthThresholds.DefaultMaxShipLag;

    /// <summary>Degraded when the WAL's segment files use at least this fraction of <c>MaxDiskBytes</c>; above 0 and at most 1.</summary>
    /// <value>The default is 0.8 (80 %).</value>
    public double MaxDiskFraction { get; set; } = HealthThresholds.DefaultMaxDiskFraction;

    /// <summary>
    /// Unhealthy when Loki has answered every push for this long with a refusal that retrying cannot
    /// fix: 401, 403 or another client error, or a 400 that refused every entry of a batch. An
    /// accepted (or partly accepted) push ends the streak; 429, 5xx and unreachable Loki neither
    /// start nor end it (the ship lag covers an outage).
    /// </summary>
    /// <value>The default is 2 minutes: long enough for a rotated token file or a restarting auth
    /// proxy to recover within a few retries at the longest backoff (30 s), short enough to be seen
    /// before the ship lag threshold.</value>
    public TimeSpan RefusalTimeout { get; set; } = HealthThresholds.DefaultRefusalTimeout;

    /// <summary>The pipelines the check evaluates; tests replace it.</summary>
    internal Func<IReadOnlyList<LogPipeline>> Pipelines { get; set; } = PipelineRegistry.Snapshot;

    internal HealthThresholds ToThresholds() => new()
    {
        MaxShipLag = MaxShipLag,
        MaxDiskFraction = MaxDiskFraction,
        RefusalTimeout = RefusalTimeout,
    };

    /// <summary>Every problem with the settings, empty when they can work.</summary>
    internal List<string> Problems()
    {
        var problems = new List<string>();
        if (MaxShipLag <= TimeSpan.Zero)
        {
            problems.Add($"MaxShipLag must be above zero; it is {MaxShipLag}.");
        }

        if (!(MaxDiskFraction > 0 && MaxDiskFraction <= 1))
        {
            problems.Add($"MaxDiskFraction must be above 0 and at most 1; it is {MaxDiskFraction}.");
        }

        if (RefusalTimeout < TimeSpan.Zero)
        {
            problems.Add($"RefusalTimeout must not be negative; it is {RefusalTimeout}.");
        }

        return problems;
    }
}
