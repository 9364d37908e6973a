namespace LogPersist;

/// <summary>What happens to new entries when the WAL has reached its disk cap or the disk is full.</summary>
public enum WalFullMode
{
    /// <summary>
    /// Delete the oldest unshipped segment to make room; its entries are counted as dropped and a gap
    /// marker is written. Recent entries, usually the ones that explain a failure, are kept.
    /// This is the default.
    /// </summary>
    DropOldest = 0,

    /// <summary>Refuse new entries until space is freed; refused entries are counted and a gap marker is written.</summary>
    DropNewest = 1,

    /// <summary>
    /// The log call waits for space, up to the block timeout, then drops as <see cref="DropNewest"/> does.
    /// </summary>
    Block = 2,
}
