using Google.Protobuf.WellKnownTypes;

namespace LogPersist.LokiTestServer;

/// <summary>Conversions between protobuf timestamps and Unix nanoseconds (saturated at the ends of <see cref="long"/>).</summary>
internal static class UnixNanos
{
    private const long NanosPerSecond = 1_000_000_000;

    public static long From(Timestamp? timestamp) =>
        timestamp is null
            ? 0
            : (long)Int128.Clamp((Int128)timestamp.Seconds * NanosPerSecond + timestamp.Nanos, long.MinValue, long.MaxValue);

    public static Timestamp ToTimestamp(long unixNs)
    {
        var seconds = Math.DivRem(unixNs, NanosPerSecond, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += NanosPerSecond;
        }

        return new Timestamp { Seconds = seconds, Nanos = (int)nanos };
    }
}
