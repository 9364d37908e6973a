using System.Diagnostics.Metrics;

namespace LogPersist.Diagnostics;

/// <summary>
/// The <c>LogPersist</c> meter every component's instruments live on (the WAL's, the shipper's, the
/// encoder's cuts), each created beside what it measures.
/// </summary>
/// <remarks>
/// Names follow the OpenTelemetry conventions: <c>{area}.{object}.{event}</c> for counters, singular
/// (the unit says what is counted), <c>.usage</c> and <c>.count</c> for up-down counters, no unit in the name.
/// </remarks>
internal static class LogPersistMeter
{
    public const string Name = "LogPersist";

    /// <summary>The meter tag naming the WAL directory: it tells two pipelines of one process apart.</summary>
    public const string DirectoryTag = "logpersist.wal.directory";

    /// <summary>
    /// A <c>LogPersist</c> meter for one pipeline. Every pipeline has its own, with the same instrument
    /// names; the directory tag keeps their observable values apart (OpenTelemetry sees the tags as
    /// instrumentation-scope attributes) instead of one overwriting the other.
    /// </summary>
    public static Meter Create(string? directory) =>
        directory is null
            ? new Meter(Name)
            : new Meter(new MeterOptions(Name) { Tags = [new KeyValuePair<string, object?>(DirectoryTag, directory)] });
}
