namespace LogPersist.Wal;

/// <summary>Why records did not make it into, or were removed from, the WAL before shipping.</summary>
internal enum WalDropReason : byte
{
    /// <summary>The oldest unshipped segment was deleted to stay under the disk cap (<see cref="WalFullMode.DropOldest"/>).</summary>
    OldestEvicted = 1,

    /// <summary>The WAL was at its cap and new records were refused (<see cref="WalFullMode.DropNewest"/>).</summary>
    WalFull = 2,

    /// <summary>The append waited for space for the whole block timeout (<see cref="WalFullMode.Block"/>).</summary>
    BlockTimeout = 3,

    /// <summary>The file system had no space left for a new segment.</summary>
    NoSpace = 4,

    /// <summary>Creating or mapping a new segment failed with another I/O error.</summary>
    IoError = 5,

    /// <summary>The record was larger than a segment can hold.</summary>
    TooLarge = 6,

    /// <summary>The append came after the WAL was disposed.</summary>
    Disposed = 7,

    /// <summary>The record had no payload (a record must carry at least one byte).</summary>
    Empty = 8,

    /// <summary>The log call's data could not be turned into an entry (a logging integration failed on it).</summary>
    Unencodable = 9,

    /// <summary>Another instance took the WAL directory (adoption) and the open segment was full: this holder no longer writes there.</summary>
    Fenced = 10,
}

internal static class WalDropReasons
{
    public static readonly WalDropReason[] All = Enum.GetValues<WalDropReason>();

    /// <summary>The value of the <c>reason</c> tag on drop metrics.</summary>
    public static string TagValue(this WalDropReason reason) => reason switch
    {
        WalDropReason.OldestEvicted => "oldest_evicted",
        WalDropReason.WalFull => "wal_full",
        WalDropReason.BlockTimeout => "block_timeout",
        WalDropReason.NoSpace => "no_space",
        WalDropReason.IoError => "io_error",
        WalDropReason.TooLarge => "too_large",
        WalDropReason.Disposed => "disposed",
        WalDropReason.Empty => "empty",
        WalDropReason.Unencodable => "unencodable",
        WalDropReason.Fenced => "fenced",
        _ => "unknown",
    };
}
