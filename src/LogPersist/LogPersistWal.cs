using LogPersist.Pipeline;

namespace LogPersist;

/// <summary>The write-ahead logs LogPersist has open in this process, whichever integration opened them.</summary>
public static class LogPersistWal
{
    /// <summary>
    /// The WAL directories of the LogPersist pipelines open in this process now — the logging provider's,
    /// each Serilog sink's — sorted, as full paths: <c>{Directory}/{namespace}/{service}/{instance}</c>.
    /// Empty before the first one opens (a Serilog sink opens when the logger is created) and after the
    /// last one is disposed.
    /// </summary>
    /// <returns>A snapshot; later openings and disposals do not change it.</returns>
    public static IReadOnlyList<string> OpenDirectories() => [.. PipelineRegistry.Snapshot().Select(p => p.Directory)];
}
