using LogPersist.Diagnostics;

namespace LogPersist.Shipping;

/// <summary>
/// What the <see cref="CardinalityGuard"/> sent to overflow: counted by label in
/// <c>logpersist.label.overflow</c>, reported once per label and window (EventSource event 36), and
/// kept for the health check while it happened within the last window.
/// </summary>
internal sealed class LabelOverflow
{
    private readonly Dictionary<string, long> _lastReported = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastSeen = new(StringComparer.Ordinal);
    private readonly ShipperMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly string _directory;

    public LabelOverflow(ShipperMetrics metrics, TimeProvider time, string directory)
    {
        _metrics = metrics;
        _time = time;
        _directory = directory;
    }

    public void Record(string label)
    {
        _metrics.LabelOverflowed(label);
        var now = _time.GetTimestamp();
        bool report;
        lock (_lastSeen)
        {
            _lastSeen[label] = now;
            report = !_lastReported.TryGetValue(label, out var reported) || _time.GetElapsedTime(reported, now) >= CardinalityGuard.Window;
            if (report)
            {
                _lastReported[label] = now;
            }
        }

        if (report)
        {
            LogPersistEventSource.Log.LabelOverflow(_directory, label);
        }
    }

    /// <summary>The labels sent to overflow within the last window, sorted; empty when none was.</summary>
    public IReadOnlyList<string> Recent()
    {
        var now = _time.GetTimestamp();
        lock (_lastSeen)
        {
            return [.. _lastSeen.Where(p => _time.GetElapsedTime(p.Value, now) < CardinalityGuard.Window).Select(p => p.Key).Order(StringComparer.Ordinal)];
        }
    }
}
