using System.Collections.Concurrent;
namespace LogPersist.Pipeline;

/// <summary>
/// The pipelines open in this process, whichever integration opened them (the logging provider, the
/// Serilog sink, the tool), so that the health check finds them without being wired to one.
/// </summary>
internal static class PipelineRegistry
{
    private static readonly ConcurrentDictionary<LogPipeline, byte> Open = new();

    public static void Add(LogPipeline pipeline) => Open.TryAdd(pipeline, 0);

    public static void Remove(LogPipeline pipeline) => Open.TryRemove(pipeline, out _);

    /// <summary>The open pipelines, ordered by directory so reports read the same every time.</summary>
    public static IReadOnlyList<LogPipeline> Snapshot() => [.. Open.Keys.OrderBy(p => p.Directory, StringComparer.Ordinal)];
}
