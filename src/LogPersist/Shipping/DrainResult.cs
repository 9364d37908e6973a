namespace LogPersist.Shipping;

/// <summary>How the drain of one WAL directory ended.</summary>
internal enum DrainStatus
{
    /// <summary>Every entry was accepted (or refused for good and counted); the segments are deleted.</summary>
    Drained,

    /// <summary>There was nothing to ship.</summary>
    Empty,

    /// <summary>A live process holds the directory; it ships its own entries.</summary>
    Held,

    /// <summary>Stopped by a signal or the deadline; what was acknowledged stays acknowledged, the rest stays in the WAL.</summary>
    Interrupted,

    /// <summary>The directory could not be opened or written.</summary>
    Failed,
}

/// <summary>What draining one directory did.</summary>
internal sealed record DrainResult(
    string Directory,
    DrainStatus Status,
    long Entries,
    long Bytes,
    long Refused,
    TimeSpan Elapsed,
    string Labels,
    string? Message)
{
    public double EntriesPerSecond => Elapsed > TimeSpan.Zero ? Entries / Elapsed.TotalSeconds : 0;
}
