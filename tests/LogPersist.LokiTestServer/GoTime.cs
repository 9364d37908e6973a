using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>Formats Unix-nanosecond timestamps the way Loki's Go code prints them in its error messages (UTC).</summary>
internal static class GoTime
{
    private const long NanosPerTick = 100;

    /// <summary>Go's <c>time.RFC3339</c>: whole seconds, "Z" for UTC (<c>2026-01-01T00:00:00Z</c>).</summary>
    public static string Rfc3339(long unixNs) =>
        TryToDateTime(unixNs, out var time)
            ? time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : unixNs.ToString(CultureInfo.InvariantCulture);

    /// <summary>Go's <c>time.RFC3339</c> of a time in its own zone: <c>2026-01-01T00:00:00Z</c>, or <c>…+02:00</c> with an offset.</summary>
    public static string Rfc3339(DateTimeOffset time) =>
        time.Offset == TimeSpan.Zero
            ? time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : time.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    /// <summary>Go's <c>time.Time.String()</c>: <c>2026-01-01 00:00:00.5 +0000 UTC</c>, trailing zeros of the fraction dropped.</summary>
    public static string String(long unixNs)
    {
        if (!TryToDateTime(unixNs, out var time))
        {
            return unixNs.ToString(CultureInfo.InvariantCulture);
        }

        var nanos = (int)(((unixNs % 1_000_000_000) + 1_000_000_000) % 1_000_000_000);
        var fraction = nanos == 0 ? "" : "." + nanos.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        return time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + fraction + " +0000 UTC";
    }

    /// <summary>Unix nanoseconds of <paramref name="time"/>, saturated at the ends of <see cref="long"/>.</summary>
    public static long ToUnixNs(DateTimeOffset time) =>
        (long)Int128.Clamp((Int128)(time.UtcTicks - DateTime.UnixEpoch.Ticks) * NanosPerTick, long.MinValue, long.MaxValue);

    private static bool TryToDateTime(long unixNs, out DateTime time)
    {
        // Floor division, so a timestamp before 1970 does not round towards the epoch.
        var ticks = unixNs / NanosPerTick - (unixNs % NanosPerTick < 0 ? 1 : 0);
        var absolute = DateTime.UnixEpoch.Ticks + ticks;
        if (absolute < 0 || absolute > DateTime.MaxValue.Ticks)
        {
            time = default;
            return false;
        }

        time = new DateTime(absolute, DateTimeKind.Utc);
        return true;
    }
}
