namespace LogPersist.Diagnostics;

/// <summary>
/// A count and a byte total incremented from many threads. Each thread hashes to its own cache
/// line, so appenders on different cores do not contend on one counter.
/// </summary>
internal sealed class StripedCounter
{
    private const int Stride = 8; // longs per 64-byte cache line
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount * 2));
        _mask = stripes - 1;
        // One spare line in front keeps stripe 0 off the array header's line.
        _cells = new long[(stripes + 1) * Stride];
    }

    public void Add(long bytes)
    {
        var i = ((Thread.GetCurrentProcessorId() & _mask) + 1) * Stride;
        Interlocked.Increment(ref _cells[i]);
        Interlocked.Add(ref _cells[i + 1], bytes);
    }

    public (long Count, long Bytes) Read()
    {
        long count = 0, bytes = 0;
        for (var i = Stride; i < _cells.Length; i += Stride)
        {
            count += Volatile.Read(ref _cells[i]);
            bytes += Volatile.Read(ref _cells[i + 1]);
        }

        return (count, bytes);
    }
}
