using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>Settings of one write-ahead log. Defaults live here and nowhere else.</summary>
internal sealed class WalOptions
{
    public const long MinSegmentBytes = 4096;
    public const long MaxSegmentBytes = 1L << 30;

    /// <summary>The instance's WAL directory; created (0700) when missing.</summary>
    public required string Directory { get; init; }

    /// <summary>
    /// The WAL root above <see cref="Directory"/>, trusted as it is; every level between it and the
    /// directory is checked (<see cref="DirectoryLevels"/>). Null checks the directory alone.
    /// </summary>
    public string? Root { get; init; }

    /// <summary>The default of <see cref="AllowGroupWritableDirectories"/>: no level under the root may be writable by anyone but its owner.</summary>
    public const bool DefaultAllowGroupWritableDirectories = false;

    /// <summary>Accept group-writable levels between <see cref="Root"/> and the directory when the group is one of this process's. The default is false.</summary>
    public bool AllowGroupWritableDirectories { get; init; } = DefaultAllowGroupWritableDirectories;

    public const long DefaultSegmentBytes = 64L << 20;

    public const long DefaultMaxDiskBytes = 1L << 30;

    public static readonly TimeSpan DefaultBlockTimeout = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Size of each preallocated segment file. The default is 64 MiB.</summary>
    public long SegmentBytes { get; init; } = DefaultSegmentBytes;

    /// <summary>Cap on the bytes of all segment files. The default is 1 GiB.</summary>
    public long MaxDiskBytes { get; set; } = DefaultMaxDiskBytes;

    /// <summary>What happens when the cap is reached or the disk is full. The default is <see cref="WalFullMode.DropOldest"/>.</summary>
    public WalFullMode FullMode { get; set; } = WalFullMode.DropOldest;

    /// <summary>How long an append waits for space in <see cref="WalFullMode.Block"/> mode. The default is 1 second.</summary>
    public TimeSpan BlockTimeout { get; set; } = DefaultBlockTimeout;

    /// <summary>The default is <see cref="WalDurability.PageCache"/>.</summary>
    public WalDurability Durability { get; set; } = WalDurability.PageCache;

    /// <summary>Period of the background sync in <see cref="WalDurability.Interval"/> mode. The default is 200 ms.</summary>
    public TimeSpan FlushInterval { get; set; } = DefaultFlushInterval;

    /// <summary>After a segment could not be created (disk full, I/O error), how long before the next attempt. The default is 1 second.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Create the first segment when the WAL opens, so that the first append finds it ready. A process
    /// that only ships an existing WAL (a drain) turns this off: a segment is then created only if it
    /// appends something (a marker). The default is true.
    /// </summary>
    public bool CreateSegmentOnOpen { get; init; } = true;

    /// <summary>
    /// The segment format written: <see cref="SegmentHeader.CurrentVersion"/>, or 1 (no string table, every
    /// entry self-contained) to write what LogPersist 0.1 wrote, for tests of a WAL that holds both.
    /// </summary>
    public ushort SegmentFormat { get; init; } = SegmentHeader.CurrentVersion;

    /// <summary>Who holds the WAL, recorded in the owner record so that a refused second opener can name it.</summary>
    public string? OwnerDescription { get; init; }

    /// <summary>The owner record's heartbeat and lease, and whether the holder adopts the directory.</summary>
    public LeaseOptions Lease { get; init; } = new();

    public IFileSystem FileSystem { get; init; } = new FileSystem();

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How syncs reach the device: the kernel's msync and fsync unless a test records them.</summary>
    public IDeviceSync DeviceSync { get; init; } = KernelDeviceSync.Instance;

    /// <summary>Largest payload a single record can carry with these settings.</summary>
    public int MaxPayloadBytes =>
        (int)(SegmentBytes - SegmentHeader.Size64 - RecordFormat.SegmentEndRecordSize - RecordFormat.HeaderSize) & ~(RecordFormat.Alignment - 1);

    /// <summary>Checks every setting and throws one exception listing all problems.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Directory))
        {
            errors.Add("Directory must be set.");
        }

        if (SegmentBytes is < MinSegmentBytes or > MaxSegmentBytes || SegmentBytes % RecordFormat.Alignment != 0)
        {
            errors.Add($"SegmentBytes must be a multiple of 8 between {MinSegmentBytes} and {MaxSegmentBytes}; it is {SegmentBytes}.");
        }

        if (MaxDiskBytes < 2 * SegmentBytes)
        {
            errors.Add($"MaxDiskBytes ({MaxDiskBytes}) must hold at least two segments of SegmentBytes ({SegmentBytes}).");
        }

        errors.AddRange(Lease.Errors());

        if (!Enum.IsDefined(FullMode))
        {
            errors.Add($"FullMode {FullMode} is not defined.");
        }

        if (!Enum.IsDefined(Durability))
        {
            errors.Add($"Durability {Durability} is not defined.");
        }

        if (FullMode == WalFullMode.Block && (BlockTimeout <= TimeSpan.Zero || BlockTimeout > TimeSpan.FromMinutes(1)))
        {
            errors.Add($"FullMode Block needs a BlockTimeout above zero and at most one minute; it is {BlockTimeout}.");
        }

        if (Durability == WalDurability.Interval && FlushInterval <= TimeSpan.Zero)
        {
            errors.Add($"Durability Interval needs a FlushInterval above zero; it is {FlushInterval}.");
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            errors.Add($"RetryDelay must not be negative; it is {RetryDelay}.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid WAL options: " + string.Join(" ", errors));
        }
    }
}
