namespace LogPersist.Wal;

/// <summary>
/// Opens segment files the way every file of a shared volume is opened: never through a symbolic
/// link, never a FIFO or device (which could block or never end), only a regular file. Anything else
/// under a segment's name is <see cref="UnusableSegmentException"/>: damage, not data.
/// </summary>
internal static class SegmentFile
{
    /// <summary>
    /// Opens the segment at <paramref name="path"/> for mapping. Throws <see cref="FileNotFoundException"/>
    /// when it is gone and <see cref="UnusableSegmentException"/> when it is not a regular file.
    /// </summary>
    public static FileStream Open(string path, bool writable)
    {
        var access = writable ? FileAccess.ReadWrite : FileAccess.Read;
        if (PosixFiles.IsSupported)
        {
            Microsoft.Win32.SafeHandles.SafeFileHandle handle;
            try
            {
                handle = PosixFiles.OpenNoFollow(path, write: writable);
            }
            catch (UntrustedFileException e)
            {
                throw new UnusableSegmentException(e.Message);
            }

            try
            {
                if (PosixFiles.Stat(handle).Kind is not FileKind.Regular and var kind)
                {
                    throw new UnusableSegmentException($"'{path}' is not a regular file ({ControlFile.Describe(kind)}); it is not a segment.");
                }

                return new FileStream(handle, access, bufferSize: 0);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        var info = new FileInfo(path);
        if (info.LinkTarget is not null || Directory.Exists(path))
        {
            throw new UnusableSegmentException($"'{path}' is a symbolic link or a directory, not a segment.");
        }

        // Shared with every other opener and deletable while mapped: the writer, readers and
        // retention work on the same files independently.
        return new FileStream(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>The first bytes of a segment file (its header), or null when it is gone, unusable or unreadable.</summary>
    public static byte[]? ReadHeader(string path)
    {
        try
        {
            using var stream = Open(path, writable: false);
            var header = new byte[SegmentHeader.Size64];
            var total = 0;
            int read;
            while (total < header.Length && (read = stream.Read(header, total, header.Length - total)) > 0)
            {
                total += read;
            }

            return total == header.Length ? header : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The size of the file at <paramref name="path"/> itself (a link is not followed); 0 when it is gone or cannot be looked at.</summary>
    public static long Length(string path)
    {
        try
        {
            if (PosixFiles.IsSupported)
            {
                return PosixFiles.StatNoFollow(path)?.Size ?? 0;
            }

            var info = new FileInfo(path);
            return info.LinkTarget is null && info.Exists ? info.Length : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>What the file at <paramref name="path"/> itself is (a link is not followed); null when it is gone.</summary>
    public static FileKind? Kind(string path)
    {
        try
        {
            if (PosixFiles.IsSupported)
            {
                return PosixFiles.StatNoFollow(path)?.Kind;
            }

            var info = new FileInfo(path);
            return info.LinkTarget is not null ? FileKind.SymbolicLink : info.Exists ? FileKind.Regular : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
