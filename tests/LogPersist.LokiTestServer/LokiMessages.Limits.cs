using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>The ingester's stream-limit and per-stream rate texts (STREAM-LIMITS.md).</summary>
internal static partial class LokiMessages
{
    private const string StreamLimitAdvice =
        "reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased";

    private static readonly string[] ByteUnits = ["EB", "PB", "TB", "GB", "MB", "KB"];

    // validation.StreamLimitErrorMsg (pkg/validation/validate.go), answered 429 by the ingester's createStream: no tenant in
    // v2.7.7; the tenant from v2.9.0; the stream too from v3.1.0; "maximum" lowercase from v3.6.0.
    public static string StreamLimit(LokiDialect dialect, string tenant, string stream)
    {
        if (!dialect.AtLeast(2, 9))
        {
            return $"Maximum active stream limit exceeded, {StreamLimitAdvice}";
        }

        if (!dialect.AtLeast(3, 1))
        {
            return $"Maximum active stream limit exceeded, {StreamLimitAdvice}, user: '{tenant}'";
        }

        return $"{(dialect.AtLeast(3, 6) ? "m" : "M")}aximum active stream limit exceeded when trying to create stream {stream}, {StreamLimitAdvice}, user: '{tenant}'";
    }

    // validation.ErrStreamRateLimit.Error() (pkg/validation/validate.go, v2.7.7 to v3.7.6): the reason of one line of the
    // ingester's partial-failure body; both sizes as flagext.ByteSize prints them.
    public static string StreamRateLimited(long limit, string stream, long bytes) =>
        $"Per stream rate limit exceeded (limit: {ByteSize(limit)}/sec) while attempting to ingest for stream '{stream}' totaling {ByteSize(bytes)}, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased";

    // c2h5oh/datasize ByteSize.String(): the largest power-of-1024 unit that divides the size exactly.
    private static string ByteSize(long bytes)
    {
        for (var i = 0; i < ByteUnits.Length; i++)
        {
            var unit = 1L << (10 * (ByteUnits.Length - i));
            if (bytes != 0 && bytes % unit == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{bytes / unit}{ByteUnits[i]}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{bytes}B");
    }
}
