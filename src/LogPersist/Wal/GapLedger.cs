namespace LogPersist.Wal;

/// <summary>
/// Losses not yet marked in the WAL, merged per reason (records, bytes, the time span they cover),
/// until the writer has an open segment to append their <see cref="GapMarker"/>s to. Safe to add to
/// from any thread; <see cref="HasPending"/> costs one volatile read, so the append path can look often.
/// </summary>
internal sealed class GapLedger
{
    private readonly object _lock = new();
    private readonly Dictionary<WalDropReason, GapMarker> _pending = [];
    private int _hasPending;

    public bool HasPending => Volatile.Read(ref _hasPending) != 0;

    /// <summary>Adds a loss, merged with an earlier one of the same reason.</summary>
    public void Add(GapMarker gap)
    {
        lock (_lock)
        {
            _pending[gap.Reason] = _pending.TryGetValue(gap.Reason, out var other)
                ? other with
                {
                    Records = other.Records + gap.Records,
                    Bytes = other.Bytes + gap.Bytes,
                    FromUnixMs = Math.Min(other.FromUnixMs, gap.FromUnixMs),
                    ToUnixMs = Math.Max(other.ToUnixMs, gap.ToUnixMs),
                }
                : gap;
            Volatile.Write(ref _hasPending, 1);
        }
    }

    /// <summary>Takes every pending loss; one that cannot be written after all is <see cref="Add"/>ed back.</summary>
    public GapMarker[] TakeAll()
    {
        if (!HasPending)
        {
            return [];
        }

        lock (_lock)
        {
            GapMarker[] gaps = [.. _pending.Values];
            _pending.Clear();
            Volatile.Write(ref _hasPending, 0);
            return gaps;
        }
    }
}
