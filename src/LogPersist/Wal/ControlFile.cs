using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>
/// Reads the small files that steer LogPersist — the checkpoint, the owner record, <c>stream.json</c>,
/// adoption claims — from a volume that other processes can write to. Such a file is read only when
/// it is a regular file (a symbolic link is never followed, a FIFO or device never opened for long)
/// and at most <see cref="MaxBytes"/> long; anything else is an <see cref="UntrustedFileException"/>
/// saying which and why, so the caller reports it for that directory and goes on with the others.
/// </summary>
internal static class ControlFile
{
    /// <summary>The largest control file read: every file LogPersist writes is far smaller.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>
    /// The bytes of <paramref name="path"/>, or null when it does not exist. Throws
    /// <see cref="UntrustedFileException"/> when it is not a regular file or is larger than
    /// <see cref="MaxBytes"/>, and the usual I/O exceptions when it cannot be read.
    /// </summary>
    public static byte[]? Read(IFileSystem fileSystem, string path)
    {
        try
        {
            return PosixFiles.IsSupported ? ReadNoFollow(path) : ReadChecked(fileSystem, path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Linux: opened with <c>O_NOFOLLOW | O_NONBLOCK</c> and checked through the open descriptor, so nothing can be swapped in between.</summary>
    private static byte[] ReadNoFollow(string path)
    {
        using var handle = PosixFiles.OpenNoFollow(path);
        var facts = PosixFiles.Stat(handle);
        Check(path, facts.Kind, facts.Size);
        // One byte more than the file holds: a file that grows while it is read was not written by
        // LogPersist, which always replaces its control files whole (a new file, then a rename).
        var buffer = new byte[(int)facts.Size + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
        {
            total += read;
        }

        return total == buffer.Length
            ? throw new UntrustedFileException($"'{path}' grew while it was read; LogPersist replaces its control files whole, never in place.")
            : buffer[..total];
    }

    /// <summary>Elsewhere: the link and the size are checked first (a small gap), then at most the limit is read.</summary>
    private static byte[] ReadChecked(IFileSystem fileSystem, string path)
    {
        var info = fileSystem.FileInfo.New(path);
        if (info.LinkTarget is not null || (info.Exists && info.Attributes.HasFlag(FileAttributes.ReparsePoint)))
        {
            throw new UntrustedFileException($"'{path}' is a symbolic link; LogPersist never follows links inside its directories.");
        }

        if (!info.Exists)
        {
            throw new FileNotFoundException($"'{path}' does not exist.", path);
        }

        Check(path, FileKind.Regular, info.Length);
        using var stream = fileSystem.FileStream.New(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[MaxBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        return total > MaxBytes ? throw TooLarge(path, total) : buffer[..total];
    }

    private static void Check(string path, FileKind kind, long size)
    {
        if (kind != FileKind.Regular)
        {
            throw new UntrustedFileException($"'{path}' is not a regular file ({Describe(kind)}); LogPersist only reads the files it writes.");
        }

        if (size > MaxBytes)
        {
            throw TooLarge(path, size);
        }
    }

    private static UntrustedFileException TooLarge(string path, long size) =>
        new($"'{path}' holds {(size > MaxBytes ? "more than " + MaxBytes : size.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes; a LogPersist control file is at most {MaxBytes / 1024} KiB.");

    internal static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Special => "a FIFO, socket or device",
        _ => "a regular file",
    };
}
