using System.IO.MemoryMappedFiles;

namespace LogPersist.Wal;

/// <summary>
/// A segment file mapped into memory. Writers and readers each map the file themselves; on Linux
/// both mappings share the page cache, so a record published through one is seen through the other.
/// </summary>
internal sealed unsafe class MappedSegment : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private int _disposed;

    private MappedSegment(long sequence, string path, long length, MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        Sequence = sequence;
        Path = path;
        Length = length;
        _file = file;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        Pointer = pointer + view.PointerOffset;
    }

    public long Sequence { get; }

    public string Path { get; private set; }

    /// <summary>Notes that the file was renamed (a segment prepared under a temporary name, moved into place).</summary>
    public void Renamed(string path) => Path = path;

    /// <summary>Length of the mapping (the file's length when it was mapped).</summary>
    public long Length { get; }

    public byte* Pointer { get; }

    public ReadOnlySpan<byte> Bytes => new(Pointer, (int)Length);

    /// <summary>Maps a segment for appending. The file must exist with its final length.</summary>
    public static MappedSegment OpenWritable(long sequence, string path) => Open(sequence, path, writable: true);

    /// <summary>Maps a segment read-only; returns null when the file is gone or too short to hold a record.</summary>
    public static MappedSegment? TryOpenReadOnly(long sequence, string path) => TryOpenReadOnly(sequence, path, out _);

    /// <summary>
    /// Maps a segment for reading. Null when it is gone (deleted meanwhile) or too short to be a
    /// segment (damage), with <paramref name="failure"/> null; or when it could not be opened for a
    /// reason that says nothing about its contents (permissions, too many open files, no memory for
    /// the mapping), with <paramref name="failure"/> saying why. Such a segment must not be skipped
    /// as damage: it may hold entries nobody shipped.
    /// </summary>
    public static MappedSegment? TryOpenReadOnly(long sequence, string path, out string? failure) => TryOpenReadOnly(sequence, path, out failure, out _);

    /// <inheritdoc cref="TryOpenReadOnly(long, string, out string?)"/>
    /// <param name="sequence">The segment's sequence.</param>
    /// <param name="path">The segment file.</param>
    /// <param name="failure">Why it could not be opened, when that says nothing about its contents.</param>
    /// <param name="unusable">Why it is not a usable segment (too short, a link, not a regular file); null when it is gone or was mapped.</param>
    public static MappedSegment? TryOpenReadOnly(long sequence, string path, out string? failure, out string? unusable)
    {
        failure = null;
        unusable = null;
        try
        {
            return Open(sequence, path, writable: false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnusableSegmentException e)
        {
            unusable = e.Message;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            failure = e.Message;
            return null;
        }
    }

    private static MappedSegment Open(long sequence, string path, bool writable)
    {
        var stream = SegmentFile.Open(path, writable);
        try
        {
            var length = stream.Length;
            if (length < SegmentHeader.Size64 + RecordFormat.HeaderSize || length > int.MaxValue)
            {
                throw new UnusableSegmentException($"'{path}' is not a usable segment ({length} bytes).");
            }

            var access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
            var file = MemoryMappedFile.CreateFromFile(stream, null, 0, access, HandleInheritability.None, leaveOpen: false);
            try
            {
                var view = file.CreateViewAccessor(0, length, access);
                return new MappedSegment(sequence, path, length, file, view);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Writes dirty pages of the mapping to the device (msync).</summary>
    public void Sync() => _view.Flush();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();

        // Disposing the accessor would first msync the whole view synchronously (MS_SYNC over 64 MiB,
        // around 100 ms, on the roll path). Closing the handle first unmaps without that flush: the
        // pages stay in the page cache, and the modes that promise more sync explicitly beforehand.
        _view.SafeMemoryMappedViewHandle.Dispose();
        _view.Dispose();
        _file.Dispose();
    }
}

/// <summary>A segment file too short (or too long) to be one: damage, not an I/O failure.</summary>
internal sealed class UnusableSegmentException(string message) : IOException(message);
