using System.Buffers;

namespace LogPersist.Loki;

/// <summary>An <see cref="IBufferWriter{T}"/> over one array rented from a pool, rented again larger when it fills.</summary>
internal sealed class PooledBufferWriter(ArrayPool<byte> pool, int initialBytes) : IBufferWriter<byte>, IDisposable
{
    private byte[]? _buffer = pool.Rent(Math.Max(256, initialBytes));
    private int _written;

    public ReadOnlySpan<byte> WrittenSpan => Buffer.AsSpan(0, _written);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledBufferWriter));

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Buffer.AsSpan(_written);
    }

    /// <summary>Hands the array and its length to the caller, who returns it to the pool.</summary>
    public (byte[] Buffer, int Length) Detach()
    {
        var buffer = Buffer;
        _buffer = null;
        return (buffer, _written);
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            pool.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        var buffer = Buffer;
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= buffer.Length)
        {
            return;
        }

        var larger = pool.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * buffer.Length)));
        buffer.AsSpan(0, _written).CopyTo(larger);
        _buffer = larger;
        pool.Return(buffer);
    }
}
