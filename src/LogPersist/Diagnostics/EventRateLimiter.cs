namespace LogPersist.Diagnostics;

/// <summary>Events of one kind and scope that were not written, reported once their interval is over.</summary>
internal readonly record struct SuppressedEvents(int EventId, string Scope, long Count);

/// <summary>
/// Keeps a failing disk or endpoint from flooding the EventSource and the self-log: at most
/// <c>limit</c> events per event id and scope (a WAL directory, a Loki endpoint) in each interval.
/// The rest are counted, and the count is handed back with the first event after the interval, so
/// nothing is suppressed without a trace.
/// </summary>
internal sealed class EventRateLimiter
{
    /// <summary>Events of one kind and scope written per interval.</summary>
    public const int DefaultLimit = 10;

    /// <summary>The interval the limit applies to.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly int _limit;
    private readonly long _interval;
    private readonly Dictionary<(int EventId, string Scope), Window> _windows = [];
    private readonly object _lock = new();
    private long _lastSweep;

    public EventRateLimiter(TimeProvider time, int limit = DefaultLimit, TimeSpan? interval = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _time = time;
        _limit = limit;
        _interval = (long)((interval ?? DefaultInterval).TotalSeconds * time.TimestampFrequency);
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>
    /// True when the event may be written. <paramref name="ended"/> lists the events suppressed in
    /// intervals that are over (for this and any other kind), to be reported before this event.
    /// </summary>
    public bool TryAdmit(int eventId, string? scope, out IReadOnlyList<SuppressedEvents> ended)
    {
        List<SuppressedEvents>? over = null;
        var key = (eventId, scope ?? "");
        bool admitted;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (now - _lastSweep >= _interval)
            {
                // Forget windows that are over, so the table stays as small as the set of recent faults.
                _lastSweep = now;
                foreach (var (other, window) in _windows.Where(w => now - w.Value.Start >= _interval).ToList())
                {
                    _windows.Remove(other);
                    if (window.Suppressed > 0)
                    {
                        (over ??= []).Add(new SuppressedEvents(other.EventId, other.Scope, window.Suppressed));
                    }
                }
            }

            if (!_windows.TryGetValue(key, out var current) || now - current.Start >= _interval)
            {
                if (current is { Suppressed: > 0 })
                {
                    (over ??= []).Add(new SuppressedEvents(eventId, key.Item2, current.Suppressed));
                }

                current = new Window { Start = now };
                _windows[key] = current;
            }

            admitted = current.Count < _limit;
            if (admitted)
            {
                current.Count++;
            }
            else
            {
                current.Suppressed++;
            }
        }

        ended = (IReadOnlyList<SuppressedEvents>?)over ?? [];
        return admitted;
    }

    private sealed class Window
    {
        public long Start;
        public int Count;
        public long Suppressed;
    }
}
