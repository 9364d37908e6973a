using System.Globalization;
using System.Text.RegularExpressions;

namespace LogPersist.Shipping;

/// <summary>
/// Client-side pacing of the streams Loki refused for their rate ("Per stream rate limit exceeded
/// (limit: 3MB/sec) …"). Once a stream is refused, its requests are spaced so that its bytes per second
/// stay under the limit Loki named: a request goes when the stream's previous requests have been paid
/// for at that rate. A stream refused again while paced is paced at half the rate (a gateway may count
/// differently, or another writer shares the stream). A stream refused no more for <see cref="Memory"/>
/// is paced no more. Thread-safe.
/// </summary>
internal sealed partial class StreamPacing
{
    /// <summary>How long a stream stays paced after Loki last refused it for its rate.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(10);

    /// <summary>The rate assumed when a refusal does not say one: Loki's default per-stream limit.</summary>
    public const long DefaultBytesPerSecond = 3L << 20;

    private const long SlowestBytesPerSecond = 1024;

    private readonly Dictionary<string, Pace> _paces = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public StreamPacing(TimeProvider time) => _time = time;

    /// <summary>Streams paced now.</summary>
    public int Count
    {
        get
        {
            lock (_paces)
            {
                return _paces.Count;
            }
        }
    }

    /// <summary>Loki refused <paramref name="labels"/> for its rate, with the answer <paramref name="body"/>.</summary>
    public void Refused(string labels, string body)
    {
        var named = NamedLimit(body) ?? DefaultBytesPerSecond;
        var now = _time.GetTimestamp();
        lock (_paces)
        {
            if (_paces.TryGetValue(labels, out var pace) && _time.GetElapsedTime(pace.RefusedAt, now) < Memory)
            {
                // Refused although paced: slower, never faster than what Loki says.
                pace.BytesPerSecond = Math.Max(SlowestBytesPerSecond, Math.Min(named, pace.BytesPerSecond / 2));
            }
            else
            {
                pace = new Pace { BytesPerSecond = Math.Max(SlowestBytesPerSecond, named) };
                _paces[labels] = pace;
            }

            // Loki's bucket for the stream is empty now: the next request waits for a second of it.
            pace.RefusedAt = now;
            pace.FreeAt = now + _time.TimestampFrequency;
        }
    }

    /// <summary>The bytes per second <paramref name="labels"/> is paced at; null when it is not paced.</summary>
    public long? BytesPerSecond(string labels)
    {
        lock (_paces)
        {
            return Current(labels)?.BytesPerSecond;
        }
    }

    /// <summary>
    /// Books <paramref name="bytes"/> of <paramref name="labels"/> and returns how long to wait before
    /// sending them (zero for a stream not paced), unless that is longer than <paramref name="longest"/>:
    /// then nothing is booked and null is returned.
    /// </summary>
    public TimeSpan? Book(string labels, long bytes, TimeSpan longest)
    {
        var now = _time.GetTimestamp();
        lock (_paces)
        {
            if (Current(labels) is not { } pace)
            {
                return TimeSpan.Zero;
            }

            var start = Math.Max(now, pace.FreeAt);
            var wait = _time.GetElapsedTime(now, start);
            if (wait > longest)
            {
                return null;
            }

            pace.FreeAt = start + (long)(bytes * (double)_time.TimestampFrequency / pace.BytesPerSecond);
            return wait;
        }
    }

    private Pace? Current(string labels)
    {
        if (!_paces.TryGetValue(labels, out var pace))
        {
            return null;
        }

        if (_time.GetElapsedTime(pace.RefusedAt) < Memory)
        {
            return pace;
        }

        _paces.Remove(labels);
        return null;
    }

    /// <summary>
    /// The limit in Loki's "(limit: 3MB/sec)", bytes per second: a number and a unit of B, KB, MB, GB or
    /// TB in powers of 1024, as Loki prints sizes. Null when the body names none.
    /// </summary>
    internal static long? NamedLimit(string body)
    {
        var match = LimitText().Match(body);
        if (!match.Success || !long.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var shift = match.Groups[2].ValueSpan switch
        {
            "B" => 0,
            "KB" => 10,
            "MB" => 20,
            "GB" => 30,
            _ => 40,
        };
        return number > long.MaxValue >> shift ? long.MaxValue : number << shift;
    }

    [GeneratedRegex(@"\(limit: (\d{1,18})(B|KB|MB|GB|TB)/sec\)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex LimitText();

    private sealed class Pace
    {
        public long BytesPerSecond { get; set; }

        public long RefusedAt { get; set; }

        /// <summary>When the bytes booked so far are paid for, in <see cref="TimeProvider"/> ticks.</summary>
        public long FreeAt { get; set; }
    }
}
