namespace LogPersist.Wal;

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
    /// Tests the lock by opening the existing <c>wal.lock</c> read-only and shared. On Unix .NET takes a
    /// non-blocking shared <c>flock</c> for such an open, which fails while the writer holds its
    /// exclusive one: the answer comes from the kernel, so it is right across containers of one node
    /// (which do not see each other's process ids) and for a holder that was killed. The shared lock
    /// is released at once; a writer starting in that same instant would find the directory busy.
    /// </summary>
    public static WalHolder Probe(string directory)
    {
        var ownerPath = Path.Combine(directory, DirectoryLock.OwnerFileName);
        var record = ReadRecord(ownerPath);

        // A record marked closed means the last holder closed the WAL: nothing was left behind mid-write.
        var hasOwner = record is { State: not OwnerState.Closed };
        var lockPath = Path.Combine(directory, DirectoryLock.LockFileName);
        HolderState state;
        if (!File.Exists(lockPath))
        {
            state = hasOwner ? HolderState.Stale : HolderState.None;
        }
        else
        {
            try
            {
                using (new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
                {
                }

                state = hasOwner ? HolderState.Stale : HolderState.Released;
            }
            catch (IOException e) when (DirectoryLock.IsHeldElsewhere(e))
            {
                state = HolderState.Live;
            }
            catch (FileNotFoundException)
            {
                state = hasOwner ? HolderState.Stale : HolderState.None;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                state = HolderState.Unknown;
            }
        }

        if (state == HolderState.Live && record is null)
        {
            // Between taking the lock and writing the owner record: read again.
            record = ReadRecord(ownerPath);
        }

        return new WalHolder(
            state,
            record is { ProcessId: > 0 } ? record.ProcessId : null,
            string.IsNullOrEmpty(record?.Host) ? null : record.Host,
            record?.Description,
            record is null || record.Started == default ? null : record.Started)
        {
            Record = record,
        };
    }

    /// <summary>The owner record, or null when there is none or it cannot be read.</summary>
    internal static OwnerRecord? ReadRecord(string ownerPath)
    {
        try
        {
            using var stream = new FileStream(ownerPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return OwnerRecord.Parse(reader.ReadToEnd());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
