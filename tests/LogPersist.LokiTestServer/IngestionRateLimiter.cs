namespace LogPersist.LokiTestServer;

/// <summary>
/// The distributor's per-tenant ingestion limit: a token bucket of <c>rate</c> bytes per second holding at most
/// <c>burst</c> bytes, full at first, as golang.org/x/time/rate behind Loki's limiter. A push is allowed only when its
/// whole size is in the bucket (a push larger than the burst never is), and only an allowed push takes tokens. Thread-safe.
/// </summary>
internal sealed class IngestionRateLimiter(double bytesPerSecond, long burst, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>The limit as Loki prints it in its 429 text: <c>int(limit)</c>.</summary>
    public long Limit => (long)bytesPerSecond;

    public bool TryTake(string tenant, long bytes)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_buckets.TryGetValue(tenant, out var bucket))
            {
                bucket = new Bucket { Tokens = burst, Last = now };
                _buckets.Add(tenant, bucket);
            }

            var elapsed = time.GetElapsedTime(bucket.Last, now).TotalSeconds;
            var tokens = Math.Min(burst, bucket.Tokens + Math.Max(elapsed, 0) * bytesPerSecond);
            bucket.Last = now;
            if (bytes > burst || bytes > tokens)
            {
                bucket.Tokens = tokens;
                return false;
            }

            bucket.Tokens = tokens - bytes;
            return true;
        }
    }

    private sealed class Bucket
    {
        public double Tokens { get; set; }

        public long Last { get; set; }
    }
}
