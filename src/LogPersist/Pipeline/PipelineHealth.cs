using System.Globalization;
using LogPersist.Diagnostics;
using LogPersist.Wal;

namespace LogPersist.Pipeline;

/// <summary>The health of LogPersist, from best to worst; the worst of several pipelines wins.</summary>
internal enum HealthState
{
    Healthy = 0,
    Degraded = 1,
    Unhealthy = 2,
}

/// <summary>Where LogPersist stops being healthy; the defaults are documented on the public health check options.</summary>
internal sealed record HealthThresholds
{
    public static readonly TimeSpan DefaultMaxShipLag = TimeSpan.FromMinutes(5);
    public const double DefaultMaxDiskFraction = 0.8;
    public static readonly TimeSpan DefaultRefusalTimeout = TimeSpan.FromMinutes(2);

    public TimeSpan MaxShipLag { get; init; } = DefaultMaxShipLag;

    public double MaxDiskFraction { get; init; } = DefaultMaxDiskFraction;

    public TimeSpan RefusalTimeout { get; init; } = DefaultRefusalTimeout;
}

/// <summary>A health verdict with the reason and the figures it was drawn from.</summary>
internal sealed record PipelineHealthReport(HealthState State, string Description, IReadOnlyDictionary<string, object> Data);

/// <summary>
/// Judges open pipelines: Unhealthy when entries cannot be persisted or shipped (the WAL cannot
/// open a segment, Loki has refused every push for <see cref="HealthThresholds.RefusalTimeout"/>, or
/// no pipeline is open), Degraded when shipping lags or the WAL fills its disk cap, else Healthy.
/// </summary>
internal static class PipelineHealth
{
    public const string NotRunning = "LogPersist is not running in this process: no WAL is open, so logs are not being persisted.";

    public static PipelineHealthReport Evaluate(IReadOnlyList<LogPipeline> pipelines, HealthThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(thresholds);
        if (pipelines.Count == 0)
        {
            return new PipelineHealthReport(HealthState.Unhealthy, NotRunning, new Dictionary<string, object>());
        }

        if (pipelines.Count == 1)
        {
            return Evaluate(pipelines[0], thresholds);
        }

        var reports = pipelines.Select(p => (p.Directory, Report: Evaluate(p, thresholds))).ToList();
        var worst = reports.Max(r => r.Report.State);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (directory, report) in reports)
        {
            data[directory] = report.Data;
        }

        var description = worst == HealthState.Healthy
            ? $"{reports.Count} LogPersist WALs are healthy."
            : string.Join(" ", reports.Where(r => r.Report.State != HealthState.Healthy).Select(r => $"[{r.Directory}] {r.Report.Description}"));
        return new PipelineHealthReport(worst, description, data);
    }

    public static PipelineHealthReport Evaluate(LogPipeline pipeline, HealthThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var state = HealthState.Healthy;
        var problems = new List<string>();
        void Problem(HealthState at, string text)
        {
            state = at > state ? at : state;
            problems.Add(text);
        }

        var wal = pipeline.Wal.Metrics;
        var bytes = wal.DiskBytes;
        var fraction = pipeline.MaxDiskBytes > 0 ? (double)bytes / pipeline.MaxDiskBytes : 0;
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["directory"] = pipeline.Directory,
            ["destination"] = pipeline.Destination,
            ["wal_bytes"] = bytes,
            ["wal_max_bytes"] = pipeline.MaxDiskBytes,
            ["wal_disk_fraction"] = Math.Round(fraction, 4),
            ["wal_segments"] = wal.Segments,
            ["wal_full_mode"] = pipeline.FullMode.ToString(),
            ["entries_written"] = wal.AppendedRecords,
            ["entries_dropped"] = wal.DroppedTotal(),
        };

        if (wal.WriteFailure is { } failure && CannotWrite(pipeline, failure, bytes))
        {
            data["wal_write_failure"] = failure.TagValue();
            Problem(HealthState.Unhealthy, WriteFailureText(pipeline, failure));
        }

        if (pipeline.RestartNeeded is { } restart)
        {
            data["restart_needed"] = restart;
            Problem(HealthState.Degraded, "Configuration changed settings that apply only after a restart: " + restart + ".");
        }

        if (pipeline.Adopter is { LivenessFallback: { } fallback } adopter)
        {
            data["adoption_liveness_fallback"] = DiagnosticText.Scrub(fallback) ?? fallback;
            Problem(HealthState.Degraded, $"Adoption cannot ask {adopter.LivenessSource} whether an owner is gone ({DiagnosticText.Scrub(fallback)}): it falls back to the lease rule, so a gone pod's WAL is adopted only after its record has stood still for the lease, and a live pod whose record looks stale (a network file system's attribute cache) could be taken for gone.");
        }

        if (fraction >= thresholds.MaxDiskFraction)
        {
            Problem(HealthState.Degraded, string.Create(
                CultureInfo.InvariantCulture,
                $"The WAL uses {fraction:P0} of its {pipeline.MaxDiskBytes} byte cap (threshold {thresholds.MaxDiskFraction:P0}){(pipeline.FullMode == WalFullMode.DropOldest ? "; at the cap the oldest unshipped entries are dropped" : "")}."));
        }

        if (pipeline.Shipper is { } shipper)
        {
            var lag = shipper.LagSeconds();
            data["ship_lag_seconds"] = Math.Round(lag, 3);
            data["entries_shipped"] = shipper.Metrics.ShippedEntries;
            data["entries_refused"] = shipper.Metrics.RefusedTotal();
            if (shipper.Overflow.Recent() is { Count: > 0 } overflowing)
            {
                data["labels_overflowing"] = string.Join(", ", overflowing);
                Problem(HealthState.Degraded, $"Label cardinality caps were reached within the last hour ({string.Join(", ", overflowing)}): values over the cap are sent as __overflow__. Choose labels with few values.");
            }

            if (DiagnosticText.Scrub(shipper.LastError) is { } error)
            {
                data["last_error"] = error;
            }

            if (DiagnosticText.Scrub(shipper.LastRefusalReason) is { } refusal)
            {
                data["last_refusal"] = refusal;
            }

            if (shipper.Refusals.RefusingSince is { } since)
            {
                var refusing = pipeline.Time.GetUtcNow() - since;
                data["refusing_since"] = since.ToString("O", CultureInfo.InvariantCulture);
                data["last_refused_status"] = shipper.Refusals.LastRefusedStatus;
                if (refusing >= thresholds.RefusalTimeout)
                {
                    Problem(HealthState.Unhealthy, string.Create(
                        CultureInfo.InvariantCulture,
                        $"Loki at {pipeline.Destination} has refused every push for {refusing.TotalSeconds:0} s (last: HTTP {shipper.Refusals.LastRefusedStatus}); retrying cannot fix it, check the credentials, tenant and URL."));
                }
            }

            if (shipper.Blocked is { } blocked)
            {
                data["ingestion_blocked_status"] = blocked.Status;
                data["ingestion_blocked_since"] = blocked.Since.ToString("O", CultureInfo.InvariantCulture);
                Problem(HealthState.Degraded, string.Create(
                    CultureInfo.InvariantCulture,
                    $"Loki at {pipeline.Destination} answers HTTP {blocked.Status} and stores nothing{(blocked.Until is { } until ? $" until {until:O}" : "")}: {DiagnosticText.Scrub(blocked.Reason)}. Entries wait in the WAL and are sent again."));
            }

            if (shipper.RejectedStreams is { Count: > 0 } rejected)
            {
                data["refused_streams"] = rejected.Count;
                var first = rejected.First();
                Problem(HealthState.Unhealthy, $"Loki refuses every entry of {rejected.Count} stream(s) because of their labels (each entry is counted and marked), e.g. {first.Labels}: {DiagnosticText.Scrub(first.Message)}. Change the labels (Labels, LabelProperties, LevelLabel) or the server's limits.");
            }

            if (shipper.StoppedAt is { } newer)
            {
                data["stopped_at_newer_format"] = newer.Position.ToString();
                Problem(HealthState.Unhealthy, $"Shipping has stopped: {newer}. Nothing after it is shipped or deleted by this version; run a LogPersist that reads it on this directory.");
            }

            if (lag >= thresholds.MaxShipLag.TotalSeconds)
            {
                Problem(HealthState.Degraded, string.Create(
                    CultureInfo.InvariantCulture,
                    $"Shipping lags: the oldest unacknowledged entry is {lag:0} s old (threshold {thresholds.MaxShipLag.TotalSeconds:0} s)."));
            }
        }

        var description = problems.Count > 0
            ? string.Join(" ", problems)
            : $"LogPersist writes to {pipeline.Directory} and ships to {pipeline.Destination}.";
        return new PipelineHealthReport(state, description, data);
    }

    /// <summary>
    /// Whether the writer's failed roll means entries are being lost now. A full WAL only counts while
    /// it is still full (space freed by shipping is used by the next append).
    /// </summary>
    private static bool CannotWrite(LogPipeline pipeline, WalDropReason failure, long bytes) =>
        failure != WalDropReason.WalFull || bytes + pipeline.SegmentBytes > pipeline.MaxDiskBytes;

    private static string WriteFailureText(LogPipeline pipeline, WalDropReason failure)
    {
        var consequence = pipeline.FullMode == WalFullMode.Block
            ? "log calls wait up to the block timeout, then their entries are dropped"
            : "new entries are dropped (counted and marked)";
        return failure switch
        {
            WalDropReason.Fenced => "Another holder has taken this instance's WAL directory (two pods with one name, or a drain); new entries are dropped and counted until it closes the directory.",
            WalDropReason.NoSpace => $"The WAL cannot create a segment: the disk is full; {consequence}.",
            WalDropReason.IoError => $"The WAL cannot create a segment (I/O error, see the LogPersist EventSource); {consequence}.",
            _ when pipeline.FullMode == WalFullMode.DropOldest => $"The WAL is at its disk cap and no segment can be evicted; {consequence}.",
            _ => $"The WAL is at its disk cap ({pipeline.FullMode}); {consequence} until shipping frees space.",
        };
    }
}
