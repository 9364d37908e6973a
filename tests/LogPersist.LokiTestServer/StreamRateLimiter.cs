namespace LogPersist.LokiTestServer;

/// <summary>
/// One stream's own rate limit in Loki's ingester (StreamRateLimiter in pkg/ingester/limiter.go, a golang.org/x/time/rate
/// limiter): a bucket of <c>rate</c> bytes per second holding at most <c>burst</c> bytes, full when the stream is created.
/// A take succeeds only when all its bytes are in the bucket (never when they are more than the burst), and only a
/// successful take empties it. Not thread-safe: the store locks.
/// </summary>
internal sealed class StreamRateLimiter(double bytesPerSecond, long burst, TimeProvider time)
{
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    /// <summary>The limit as Loki prints it: flagext.ByteSize of the rate, truncated.</summary>
    public long Limit => (long)bytesPerSecond;

    public bool TryTake(long bytes)
    {
        var now = time.GetTimestamp();
        var elapsed = Math.Max(time.GetElapsedTime(_last, now).TotalSeconds, 0);
        _tokens = Math.Min(burst, _tokens + (elapsed * bytesPerSecond));
        _last = now;
        if (bytes > burst || bytes > _tokens)
        {
            return false;
        }

        _tokens -= bytes;
        return true;
    }
}
