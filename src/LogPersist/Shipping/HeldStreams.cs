namespace LogPersist.Shipping;

/// <summary>
/// The streams Loki held back with a 429 of their own (stream limit, per-stream rate) within the last
/// <see cref="Memory"/>: they are sent in requests of their own until then, so that Loki's answer is
/// theirs. Thread-safe.
/// </summary>
internal sealed class HeldStreams
{
    /// <summary>How long a stream is remembered after Loki last held it back.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, long> _heldAt = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public HeldStreams(TimeProvider time) => _time = time;

    public void Hold(string labels)
    {
        lock (_heldAt)
        {
            _heldAt[labels] = _time.GetTimestamp();
        }
    }

    public bool IsHeld(string labels)
    {
        lock (_heldAt)
        {
            if (!_heldAt.TryGetValue(labels, out var at))
            {
                return false;
            }

            if (_time.GetElapsedTime(at) < Memory)
            {
                return true;
            }

            _heldAt.Remove(labels);
            return false;
        }
    }
}
