using System.Globalization;
using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>
/// Keeps one writer per WAL directory. The lock is an exclusive <c>flock</c> on <c>wal.lock</c>
/// (what <see cref="FileShare.None"/> takes on Unix): the kernel releases it when the holding
/// process dies, however it dies, so a killed process never blocks its successor. Because a locked
/// file cannot be read by others, the holder describes itself in a separate <c>wal.owner</c> file.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string LockFileName = "wal.lock";
    public const string OwnerFileName = "wal.owner";

    private readonly IFileSystem _fileSystem;
    private readonly Stream _lockStream;
    private readonly string _ownerPath;

    private DirectoryLock(IFileSystem fileSystem, Stream lockStream, string ownerPath)
    {
        _fileSystem = fileSystem;
        _lockStream = lockStream;
        _ownerPath = ownerPath;
    }

    /// <summary>Takes the lock or throws <see cref="WalLockedException"/> naming the holder.</summary>
    /// <summary>How long a held lock is retried before the holder is taken to be a live writer.</summary>
    public static readonly TimeSpan ContentionGrace = TimeSpan.FromMilliseconds(500);

    public static DirectoryLock Acquire(IFileSystem fileSystem, string directory, string? ownerDescription)
    {
        var lockPath = fileSystem.Path.Combine(directory, LockFileName);
        var ownerPath = fileSystem.Path.Combine(directory, OwnerFileName);
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

                var (pid, description) = ReadOwner(fileSystem, ownerPath);
                throw new WalLockedException(directory, pid, description, e);
            }
        }

        var holder = new DirectoryLock(fileSystem, stream, ownerPath);
        try
        {
            holder.WriteOwner(ownerDescription);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return holder;
    }

    /// <summary>Reads who holds a directory, as recorded in its owner file; nulls when unknown.</summary>
    public static (int? ProcessId, string? Description) ReadOwner(IFileSystem fileSystem, string ownerPath)
    {
        try
        {
            int? pid = null;
            string? description = null;
            foreach (var line in fileSystem.File.ReadAllLines(ownerPath))
            {
                if (line.StartsWith("pid=", StringComparison.Ordinal)
                    && int.TryParse(line.AsSpan(4), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    pid = value;
                }
                else if (line.StartsWith("owner=", StringComparison.Ordinal))
                {
                    description = line[6..];
                }
            }

            return (pid, description);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
    }

    private void WriteOwner(string? description)
    {
        var text = string.Create(
            CultureInfo.InvariantCulture,
            $"pid={Environment.ProcessId}\nhost={Environment.MachineName}\nstarted={DateTimeOffset.UtcNow:O}\n");
        if (!string.IsNullOrEmpty(description))
        {
            text += "owner=" + description.ReplaceLineEndings(" ") + "\n";
        }

        var temporary = _ownerPath + ".tmp";
        using (var stream = _fileSystem.FileStream.New(temporary, OwnerOnly.NewFile(FileMode.Create)))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }

        _fileSystem.File.Move(temporary, _ownerPath, overwrite: true);
    }

    // EWOULDBLOCK from flock is EAGAIN: 11 on Linux, 35 on macOS; on Windows a sharing or lock violation.
    internal static bool IsHeldElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    public void Dispose()
    {
        try
        {
            _fileSystem.File.Delete(_ownerPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The owner file is informational; a stale one is overwritten by the next holder.
        }

        // The lock file itself stays: deleting it would let a concurrent opener lock an unlinked inode.
        _lockStream.Dispose();
    }
}
