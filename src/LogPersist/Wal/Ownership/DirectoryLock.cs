using System.IO.Abstractions;

namespace LogPersist.Wal.Ownership;

/// <summary>
/// Keeps one writer per WAL directory. The lock is an exclusive <c>flock</c> on <c>wal.lock</c>
/// (what <see cref="FileShare.None"/> takes on Unix): the kernel releases it when the holding
/// process dies, however it dies, so a killed process never blocks its successor. It only keeps two
/// processes that see the same lock apart (two of one pod): on a network file system a lock that can
/// be taken does not prove its holder dead, so instances on other nodes go by the owner record
/// (<see cref="OwnerLease"/>), which the holder writes in the separate <c>wal.owner</c> file.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string LockFileName = "wal.lock";
    public const string OwnerFileName = "wal.owner";

    private readonly Stream _lockStream;

    private DirectoryLock(Stream lockStream)
    {
        _lockStream = lockStream;
    }

    /// <summary>How long a held lock is retried before the holder is taken to be a live writer.</summary>
    public static readonly TimeSpan ContentionGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>Takes the lock or throws <see cref="WalLockedException"/> naming the holder.</summary>
    public static DirectoryLock Acquire(IFileSystem fileSystem, string directory)
    {
        var lockPath = fileSystem.Path.Combine(directory, LockFileName);
        RefuseUntrusted(fileSystem, lockPath);
        Stream stream;
        var deadline = Environment.TickCount64 + (long)ContentionGrace.TotalMilliseconds;
        while (true)
        {
            try
            {
                stream = fileSystem.FileStream.New(lockPath, OwnerOnly.NewFile(FileMode.OpenOrCreate));
                break;
            }
            catch (IOException e) when (IsHeldElsewhere(e))
            {
                // A reader (logpersist inspect) holds a shared lock for an instant; a writer holds it for good.
                if (Environment.TickCount64 < deadline)
                {
                    Thread.Sleep(25);
                    continue;
                }

                var (pid, description) = ReadOwner(fileSystem, directory);
                throw new WalLockedException(directory, pid, description, e);
            }
        }

        return new DirectoryLock(stream);
    }

    /// <summary>
    /// A lock file that is a symbolic link (opening it would create or lock a file elsewhere) or not a
    /// regular file is refused with a clear error rather than opened.
    /// </summary>
    private static void RefuseUntrusted(IFileSystem fileSystem, string lockPath)
    {
        FileKind? kind;
        if (PosixFiles.IsSupported)
        {
            kind = PosixFiles.StatNoFollow(lockPath)?.Kind;
        }
        else
        {
            var info = fileSystem.FileInfo.New(lockPath);
            kind = info.LinkTarget is not null ? FileKind.SymbolicLink : info.Exists ? FileKind.Regular : null;
        }

        if (kind is { } found && found != FileKind.Regular)
        {
            throw new UntrustedFileException($"'{lockPath}' is {ControlFile.Describe(found)}, not the lock file LogPersist writes; remove it to use this directory.");
        }
    }

    /// <summary>Reads who holds a directory, as its owner record says; nulls when unknown.</summary>
    private static (int? ProcessId, string? Description) ReadOwner(IFileSystem fileSystem, string directory)
    {
        try
        {
            return OwnerRecord.Read(fileSystem, directory) is { } record
                ? (record.ProcessId > 0 ? record.ProcessId : null, record.Description)
                : (null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
    }

    // EWOULDBLOCK from flock is EAGAIN: 11 on Linux, 35 on macOS; on Windows a sharing or lock violation.
    internal static bool IsHeldElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>
    /// Releases the lock. The lock file itself stays: deleting it would let a concurrent opener lock an
    /// unlinked inode. Nothing is done through the directory's path, which may belong to someone else
    /// by now (the directory was adopted).
    /// </summary>
    public void Dispose() => _lockStream.Dispose();
}
