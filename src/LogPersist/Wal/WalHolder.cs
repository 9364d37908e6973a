using System.Globalization;

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
        var (pid, host, instance, started) = ReadOwner(ownerPath);
        // A record marked closed means the last holder closed the WAL: nothing was left behind mid-write.
        var hasOwner = File.Exists(ownerPath) && !IsClosed(ownerPath);
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

        if (state == HolderState.Live && !hasOwner)
        {
            // Between taking the lock and writing the owner file, or closing in between: read again.
            (pid, host, instance, started) = ReadOwner(ownerPath);
        }

        return new WalHolder(state, pid, host, instance, started) { Record = ReadRecord(ownerPath) };
    }

    private static OwnerRecord? ReadRecord(string ownerPath)
    {
        try
        {
            return File.Exists(ownerPath) ? OwnerRecord.Parse(File.ReadAllText(ownerPath)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsClosed(string ownerPath)
    {
        try
        {
            return OwnerRecord.Parse(File.ReadAllText(ownerPath)).State == OwnerState.Closed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Reads the <c>key=value</c> lines of the owner record; nulls for what is missing.</summary>
    private static (int? Pid, string? Host, string? Instance, DateTimeOffset? Started) ReadOwner(string ownerPath)
    {
        int? pid = null;
        string? host = null, instance = null;
        DateTimeOffset? started = null;
        try
        {
            using var stream = new FileStream(ownerPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                var equals = line.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    continue;
                }

                var value = line[(equals + 1)..];
                switch (line[..equals])
                {
                    case "pid" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p):
                        pid = p;
                        break;
                    case "host":
                        host = value;
                        break;
                    case "owner":
                        instance = value;
                        break;
                    case "started" when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var s):
                        started = s;
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No owner file (or not readable): the fields stay unknown.
        }

        return (pid, host, instance, started);
    }
}
