namespace LogPersist.Wal;

/// <summary>
/// The segment files of one WAL directory and their sizes: the writer adds and evicts, retention
/// deletes behind the checkpoint, metrics read the totals. Also the place where an append blocked
/// on a full WAL waits for space.
/// </summary>
internal sealed class SegmentCatalog
{
    private readonly SortedDictionary<long, long> _sizes = new();
    private readonly object _lock = new();
    private long _totalBytes;
    private long _removals;

    public long TotalBytes => Volatile.Read(ref _totalBytes);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _sizes.Count;
            }
        }
    }

    /// <summary>Grows by one every time a segment is removed; lets a waiting writer tell that space was freed.</summary>
    public long Removals => Volatile.Read(ref _removals);

    public void Add(long sequence, long bytes)
    {
        lock (_lock)
        {
            if (_sizes.TryAdd(sequence, bytes))
            {
                _totalBytes += bytes;
            }
        }
    }

    public bool Remove(long sequence)
    {
        lock (_lock)
        {
            if (!_sizes.Remove(sequence, out var bytes))
            {
                return false;
            }

            _totalBytes -= bytes;
            _removals++;
            Monitor.PulseAll(_lock);
            return true;
        }
    }

    public bool TryGetOldest(out long sequence)
    {
        lock (_lock)
        {
            foreach (var key in _sizes.Keys)
            {
                sequence = key;
                return true;
            }
        }

        sequence = 0;
        return false;
    }

    public long[] Sequences()
    {
        lock (_lock)
        {
            return [.. _sizes.Keys];
        }
    }

    /// <summary>Waits until a segment is removed after <paramref name="removalsSeen"/>, or the timeout passes.</summary>
    public bool WaitForRemoval(long removalsSeen, TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_removals != removalsSeen)
            {
                return true;
            }

            return Monitor.Wait(_lock, timeout) || _removals != removalsSeen;
        }
    }
}
