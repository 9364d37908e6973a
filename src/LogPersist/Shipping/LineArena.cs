using System.Buffers;

namespace LogPersist.Shipping;

/// <summary>
/// The UTF-8 lines of one batch, packed into pooled chunks. A line is copied in once, after the
/// formatter wrote it, and read in place by every request that carries it (a resend, each half of a
/// split, each stream of a per-stream split). <see cref="Release"/> gives the chunks back; the owner
/// calls it once nothing can encode the batch again.
/// </summary>
internal sealed class LineArena
{
    public const int ChunkBytes = 64 * 1024;

    /// <summary>
    /// Chunks shared by every shipper: bounded (a few batches' worth), lock-protected and not tied to
    /// threads, where the shared pool would keep arrays per thread that ever returned one.
    /// </summary>
    internal static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(ChunkBytes, 64);

    private readonly List<byte[]> _chunks = [];
    private byte[]? _current;
    private int _used;
    private int _released;

    /// <summary>Bytes held by the lines so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>Arrays rented and not yet returned (for tests).</summary>
    public int Rented => _chunks.Count;

    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Copies <paramref name="line"/> in and returns where it lives until <see cref="Release"/>.</summary>
    public ReadOnlyMemory<byte> Add(ReadOnlySpan<byte> line)
    {
        ObjectDisposedException.ThrowIf(IsReleased, this);
        Bytes += line.Length;
        if (line.Length > ChunkBytes / 4)
        {
            // A long line gets an array of its own: a chunk's tail is not wasted on it.
            var own = line.Length <= ChunkBytes ? Pool.Rent(ChunkBytes) : ArrayPool<byte>.Shared.Rent(line.Length);
            _chunks.Add(own);
            line.CopyTo(own);
            return own.AsMemory(0, line.Length);
        }

        if (_current is null || ChunkBytes - _used < line.Length)
        {
            _current = Pool.Rent(ChunkBytes);
            _chunks.Add(_current);
            _used = 0;
        }

        line.CopyTo(_current.AsSpan(_used));
        var memory = _current.AsMemory(_used, line.Length);
        _used += line.Length;
        return memory;
    }

    /// <summary>Returns every chunk to its pool; later calls do nothing. No line handed out may be read afterwards.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        foreach (var chunk in _chunks)
        {
            // Cleared: log lines do not linger in pooled memory, and a line read after its release reads as zeros, not as another batch's.
            (chunk.Length == ChunkBytes ? Pool : ArrayPool<byte>.Shared).Return(chunk, clearArray: true);
        }

        _chunks.Clear();
        _current = null;
    }
}
