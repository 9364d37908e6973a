using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// Keeps sealed batches in WAL order and moves the checkpoint over the contiguous prefix of
/// finished ones: a batch finished early waits for every batch before it.
/// </summary>
internal sealed class AckTracker
{
    private readonly Func<WalPosition, bool> _acknowledge;
    private readonly LinkedList<(Batch Batch, bool Done)> _pending = new();
    private readonly List<(WalPosition Target, TaskCompletionSource Done)> _waiters = [];
    private readonly object _lock = new();
    private WalPosition _acknowledged;

    public AckTracker(WalPosition acknowledged, Func<WalPosition, bool> acknowledge)
    {
        _acknowledged = acknowledged;
        _acknowledge = acknowledge;
    }

    public WalPosition Acknowledged
    {
        get
        {
            lock (_lock)
            {
                return _acknowledged;
            }
        }
    }

    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Oldest entry timestamp among batches not yet acknowledged, or <see cref="long.MaxValue"/>.</summary>
    public long OldestPendingTimestampNs
    {
        get
        {
            lock (_lock)
            {
                var oldest = long.MaxValue;
                foreach (var (batch, done) in _pending)
                {
                    if (!done && batch.OldestTimestampNs < oldest)
                    {
                        oldest = batch.OldestTimestampNs;
                    }
                }

                return oldest;
            }
        }
    }

    public void Add(Batch batch)
    {
        lock (_lock)
        {
            _pending.AddLast((batch, false));
        }
    }

    /// <summary>
    /// Marks <paramref name="batch"/> finished and saves the checkpoint if the contiguous prefix of
    /// finished batches grew. Returns how many batches left the tracker (0 while an earlier one is
    /// still pending): only those are no longer held in memory or resent after a crash.
    /// </summary>
    public int Complete(Batch batch)
    {
        lock (_lock)
        {
            for (var node = _pending.First; node is not null; node = node.Next)
            {
                if (ReferenceEquals(node.Value.Batch, batch))
                {
                    node.Value = (batch, true);
                    break;
                }
            }

            var left = 0;
            var position = _acknowledged;
            while (_pending.First is { Value.Done: true } first)
            {
                position = first.Value.Batch.End;
                _pending.RemoveFirst();
                left++;
            }

            // Saved under the lock so checkpoints are written in order; it happens about once per batch.
            // Loki has these entries whether or not the save worked: a failed save (reported by the WAL)
            // only means a restart sends them again, and the next batch saves a later position anyway.
            if (left > 0)
            {
                _acknowledge(position);
                _acknowledged = position;
                ReleaseWaiters();
            }

            return left;
        }
    }

    /// <summary>Completes when everything before <paramref name="target"/> is acknowledged.</summary>
    public Task WhenAcknowledged(WalPosition target)
    {
        lock (_lock)
        {
            if (_acknowledged >= target)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
            return done.Task;
        }
    }

    private void ReleaseWaiters()
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_acknowledged >= _waiters[i].Target)
            {
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }
}
