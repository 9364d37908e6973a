namespace LogPersist.Wal.Ownership;

/// <summary>Whether a process holds a WAL directory's lock right now.</summary>
internal enum HolderState : byte
{
    /// <summary>No lock file and no owner record: no process has this directory open.</summary>
    None,

    /// <summary>The lock is held: a live process writes to this directory.</summary>
    Live,

    /// <summary>A live owner record is left but nobody holds the lock: its process ended without closing the WAL.</summary>
    Stale,

    /// <summary>Not held now, and the owner record says the last holder closed the WAL.</summary>
    Released,

    /// <summary>The lock file could not be opened to test it (permissions).</summary>
    Unknown,
}

/// <summary>
/// Who holds a WAL directory, as its <c>wal.owner</c> file describes, and whether the lock on
/// <c>wal.lock</c> is held right now. Found without creating or writing anything.
/// </summary>
internal sealed record WalHolder(HolderState State, int? ProcessId, string? Host, string? Instance, DateTimeOffset? Started)
{
    /// <summary>The owner record as read (pod, node, epoch, lease), or null when there is none.</summary>
    public OwnerRecord? Record { get; init; }

    /// <summary>True when a process writes to the directory now: its newest segment's unfinished tail is work in progress.</summary>
    public bool IsLive => State == HolderState.Live;

    /// <summary>
    /// Whether the holder that took <paramref name="directory"/> from a fenced writer (a drain that
    /// finished, a twin that stopped) has let go of it: its owner record says closed and no process
    /// holds the lock. False when either cannot be read.
    /// </summary>
    public static bool IsReleased(System.IO.Abstractions.IFileSystem fileSystem, string directory)
    {
        try
        {
            return OwnerRecord.ReadText(fileSystem, directory) is { } text
                && OwnerRecord.Parse(text).State == OwnerState.Closed
                && Probe(directory).State != HolderState.Live;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Tests the lock by opening the existing <c>wal.lock</c> read-only and shared. On Unix .NET takes a
    /// non-blocking shared <c>flock</c> for such an open, which fails while the writer holds its
    /// exclusive one: the answer comes from the kernel, so it is right across containers of one node
    /// (which do not see each other's process ids) and for a holder that was killed. The shared lock
    /// is released at once; a writer starting in that same instant would find the directory busy.
    /// </summary>
    public static WalHolder Probe(string directory)
    {
        var record = ReadRecord(directory, out var recordProblem);

        // A record marked closed means the last holder closed the WAL: nothing was left behind mid-write.
        var hasOwner = record is { State: not OwnerState.Closed };
        var lockPath = Path.Combine(directory, DirectoryLock.LockFileName);
        HolderState state;
        try
        {
            state = IsLocked(lockPath) switch
            {
                null => hasOwner ? HolderState.Stale : HolderState.None,
                true => HolderState.Live,
                false => hasOwner ? HolderState.Stale : HolderState.Released,
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            state = HolderState.Unknown;
        }

        if (state == HolderState.Live && record is null && recordProblem is null)
        {
            // Between taking the lock and writing the owner record: read again.
            record = ReadRecord(directory, out recordProblem);
        }

        return new WalHolder(
            state,
            record is { ProcessId: > 0 } ? record.ProcessId : null,
            string.IsNullOrEmpty(record?.Host) ? null : record.Host,
            record?.Description,
            record is null || record.Started == default ? null : record.Started)
        {
            Record = record,
            RecordProblem = recordProblem,
        };
    }

    /// <summary>Why the owner record is there but was not used (a link, not a regular file, too large, invalid); null when it is fine or absent.</summary>
    public string? RecordProblem { get; init; }

    /// <summary>
    /// Whether the lock on <paramref name="lockPath"/> is held by a writer: null when there is no lock
    /// file. On Linux the file is opened without following a link and without blocking, and only a
    /// regular file is asked (a FIFO planted there must not hang the probe).
    /// </summary>
    private static bool? IsLocked(string lockPath)
    {
        if (PosixFiles.IsSupported)
        {
            Microsoft.Win32.SafeHandles.SafeFileHandle handle;
            try
            {
                handle = PosixFiles.OpenNoFollow(lockPath);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }

            using (handle)
            {
                return PosixFiles.Stat(handle).Kind != FileKind.Regular
                    ? throw new UntrustedFileException($"'{lockPath}' is not a regular file.")
                    : !PosixFiles.CanLockShared(handle);
            }
        }

        if (!File.Exists(lockPath))
        {
            return null;
        }

        try
        {
            using (new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
            {
            }

            return false;
        }
        catch (IOException e) when (DirectoryLock.IsHeldElsewhere(e))
        {
            return true;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The owner record, or null when there is none or it cannot be used (<paramref name="problem"/> then says why).</summary>
    internal static OwnerRecord? ReadRecord(string directory, out string? problem)
    {
        problem = null;
        try
        {
            return OwnerRecord.Read(new System.IO.Abstractions.FileSystem(), directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return null;
        }
    }
}
