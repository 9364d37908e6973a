using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>A segment made ready ahead of its turn, still under its temporary name.</summary>
internal sealed record PreparedSegment(long Sequence, string Temporary, MappedSegment Map, long CreatedUnixMs);

/// <summary>
/// Prepares the next segment on a thread-pool thread while the active one fills: the file is created
/// at full size with its header (synced in the syncing modes), mapped, and its first pages faulted in
/// for writing. The appender that rolls then only renames it into place, so neither a file creation,
/// nor a device sync, nor the first page faults of the new segment fall on a log call.
/// </summary>
/// <remarks>
/// At most one segment is prepared at a time, and only for the sequence asked; one that is not taken
/// (a roll that came first, a disposal) is unmapped and deleted. A crash leaves it as a temporary file,
/// which the next opener removes like any other.
/// </remarks>
internal sealed class SegmentPreparer : IDisposable
{
    private readonly object _gate = new();
    private readonly IFileSystem _fileSystem;
    private readonly string _directory;
    private readonly Func<long, (string Temporary, long CreatedUnixMs)> _createFile;
    private readonly long _prefaultBytes;
    private PreparedSegment? _ready;
    private long _preparing = -1;
    private bool _disposed;

    /// <param name="fileSystem">The WAL's file system.</param>
    /// <param name="directory">The WAL directory (for diagnostics).</param>
    /// <param name="createFile">Creates segment <c>n</c> under a temporary name, header written; throws on failure.</param>
    /// <param name="prefaultBytes">How much of the new segment to fault in for writing.</param>
    public SegmentPreparer(IFileSystem fileSystem, string directory, Func<long, (string Temporary, long CreatedUnixMs)> createFile, long prefaultBytes)
    {
        _fileSystem = fileSystem;
        _directory = directory;
        _createFile = createFile;
        _prefaultBytes = prefaultBytes;
    }

    /// <summary>The sequence of the segment prepared and waiting to be taken; -1 when none is.</summary>
    public long Ready
    {
        get
        {
            lock (_gate)
            {
                return _ready?.Sequence ?? -1;
            }
        }
    }

    /// <summary>The sequence of the segment being prepared or waiting to be taken; -1 when none is. Set by <see cref="Prepare"/> itself, before the work runs.</summary>
    public long Pending
    {
        get
        {
            lock (_gate)
            {
                return _preparing >= 0 ? _preparing : _ready?.Sequence ?? -1;
            }
        }
    }

    /// <summary>Segments prepared and then taken by a roll.</summary>
    public long Taken { get; private set; }

    /// <summary>Starts preparing segment <paramref name="sequence"/> unless it (or another one) is being prepared or ready already.</summary>
    public void Prepare(long sequence)
    {
        lock (_gate)
        {
            if (_disposed || _preparing >= 0 || _ready is not null)
            {
                return;
            }

            _preparing = sequence;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static preparer => preparer.Run(), this, preferLocal: false);
    }

    /// <summary>The prepared segment <paramref name="sequence"/>, if it is ready; the caller renames it into place or discards it.</summary>
    public PreparedSegment? Take(long sequence)
    {
        PreparedSegment? ready;
        lock (_gate)
        {
            ready = _ready;
            _ready = null;
            if (ready is not null && ready.Sequence == sequence)
            {
                Taken++;
                return ready;
            }
        }

        Discard(ready);
        return null;
    }

    /// <summary>Unmaps and deletes a prepared segment that will not be used.</summary>
    public void Discard(PreparedSegment? prepared)
    {
        if (prepared is null)
        {
            return;
        }

        prepared.Map.Dispose();
        TemporaryFile.TryDelete(_fileSystem, prepared.Temporary);
    }

    private void Run()
    {
        long sequence;
        lock (_gate)
        {
            sequence = _preparing;
        }

        PreparedSegment? made = null;
        try
        {
            var (temporary, createdUnixMs) = _createFile(sequence);
            MappedSegment? map = null;
            try
            {
                map = MappedSegment.OpenWritable(sequence, temporary);
                Prefault(map, _prefaultBytes);
                made = new PreparedSegment(sequence, temporary, map, createdUnixMs);
            }
            catch
            {
                map?.Dispose();
                TemporaryFile.TryDelete(_fileSystem, temporary);
                throw;
            }
        }
        catch (Exception e)
        {
            // A thread-pool item must not throw (that ends the process). The roll creates the segment
            // itself, and reports what fails then.
            LogPersistEventSource.Log.OperationFailed(_directory, "preparing segment " + sequence, e);
        }

        lock (_gate)
        {
            _preparing = -1;
            if (!_disposed)
            {
                _ready = made;
                return;
            }
        }

        Discard(made);
    }

    /// <summary>Faults in the first <paramref name="bytes"/> of a fresh mapping for writing.</summary>
    internal static unsafe void Prefault(MappedSegment map, long bytes)
    {
        bytes = Math.Min(bytes, map.Length);
        if (PosixFiles.TryPopulateForWriting(map.Pointer, bytes))
        {
            return;
        }

        Touch(map, bytes);
    }

    /// <summary>
    /// Faults pages in one at a time, where <c>madvise</c> cannot: a compare-and-swap of 0 with 0 writes
    /// nothing (not over the header's bytes, not over anything written) yet takes each page for writing.
    /// </summary>
    internal static unsafe void Touch(MappedSegment map, long bytes)
    {
        for (long page = 0; page < Math.Min(bytes, map.Length); page += 4096)
        {
            Interlocked.CompareExchange(ref *(long*)(map.Pointer + page), 0, 0);
        }
    }

    public void Dispose()
    {
        PreparedSegment? ready;
        lock (_gate)
        {
            _disposed = true;
            ready = _ready;
            _ready = null;
        }

        // One still being prepared is discarded by its own thread when it finishes.
        Discard(ready);
    }
}
