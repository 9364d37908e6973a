namespace LogPersist;

/// <summary>How far an appended entry has travelled when the log call returns.</summary>
public enum WalDurability
{
    /// <summary>
    /// The entry is in the operating system's page cache. It survives the death of the process
    /// (crash, SIGKILL, OOM kill) but not a crash of the node. No system call on the log call's path.
    /// This is the default.
    /// </summary>
    PageCache = 0,

    /// <summary>
    /// As <see cref="PageCache"/>, and a background timer writes the WAL to the device every
    /// flush interval: a node crash loses at most that interval.
    /// </summary>
    Interval = 1,

    /// <summary>
    /// The log call waits until the entry is on the device. Concurrent callers share one sync
    /// (group commit), but every call pays the device's sync latency.
    /// </summary>
    Always = 2,
}
