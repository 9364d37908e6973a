namespace LogPersist.Shipping;

/// <summary>
/// The shipper's batches in flight: a batch takes a slot before it is sent and gives it back once the
/// checkpoint has passed it. The limit can move while batches are out: a rise frees slots at once; a
/// fall takes the free ones now and the rest as batches give theirs back, so no batch is cut.
/// </summary>
internal sealed class InFlightSlots : IDisposable
{
    private readonly SemaphoreSlim _free;
    private readonly object _lock = new();
    private int _limit;
    private int _owed;

    public InFlightSlots(int limit)
    {
        _free = new SemaphoreSlim(limit, int.MaxValue);
        _limit = limit;
    }

    /// <summary>The limit now.</summary>
    public int Limit
    {
        get
        {
            lock (_lock)
            {
                return _limit;
            }
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken) => _free.WaitAsync(cancellationToken);

    /// <summary>Gives back the slots of <paramref name="count"/> batches; those a lower limit still owes are kept.</summary>
    public void Return(int count)
    {
        lock (_lock)
        {
            var kept = Math.Min(count, _owed);
            _owed -= kept;
            if (count > kept)
            {
                _free.Release(count - kept);
            }
        }
    }

    public void Resize(int limit)
    {
        lock (_lock)
        {
            var change = limit - _limit;
            _limit = limit;
            if (change > 0)
            {
                var forgiven = Math.Min(change, _owed);
                _owed -= forgiven;
                if (change > forgiven)
                {
                    _free.Release(change - forgiven);
                }

                return;
            }

            for (var owed = -change; owed > 0; owed--)
            {
                if (!_free.Wait(0))
                {
                    _owed += owed;
                    break;
                }
            }
        }
    }

    public void Dispose() => _free.Dispose();
}
