namespace LogPersist.Diagnostics;

/// <summary>
/// Remembers since when Loki has answered every push with a refusal that retrying cannot fix
/// (401, 403 or another configuration error, or a 400 that refused every entry of a batch). Any
/// accepted entry ends the streak. Answers that retrying can fix (429, 5xx, no answer) neither
/// start nor end it: while Loki is away, the ship lag tells the story.
/// </summary>
internal sealed class RefusalWatch(TimeProvider time)
{
    private long _sinceUtcTicks;
    private int _lastStatus;

    /// <summary>When the current streak of refusals began; null when the last answer accepted entries (or none came yet).</summary>
    public DateTimeOffset? RefusingSince => Volatile.Read(ref _sinceUtcTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The HTTP status of the last refusal.</summary>
    public int LastRefusedStatus => Volatile.Read(ref _lastStatus);

    public void Refused(int status)
    {
        Volatile.Write(ref _lastStatus, status);
        Interlocked.CompareExchange(ref _sinceUtcTicks, time.GetUtcNow().UtcTicks, 0);
    }

    public void Accepted() => Volatile.Write(ref _sinceUtcTicks, 0);
}
