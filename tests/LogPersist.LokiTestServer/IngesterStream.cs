using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// One stream in Loki's ingester (pkg/ingester/stream.go and the unordered head block of pkg/chunkenc), in its order:
/// an entry equal to the stream's last appended one is dropped silently; then an entry older than the newest one minus
/// the out-of-order window is refused ("entry too far behind"); then an entry equal to one still in the head block is
/// dropped. "Equal" is timestamp and line, and from 3.7 structured metadata too. The head block is cut, and so forgets
/// its entries, once it holds <see cref="LokiTestServerOptions.HeadBlockBytes"/>. With a per-stream rate, 2.x asks the
/// stream's bucket for each entry before the window check, 3.x (shard_streams on by default) for all entries left after the
/// checks at once, storing none of them when refused. Not thread-safe: the store locks.
/// </summary>
internal sealed class IngesterStream(LokiTestServerOptions options)
{
    private readonly StreamRateLimiter? _rate = options.PerStreamRateBytesPerSecond is { } rate
        ? new StreamRateLimiter(rate, options.PerStreamBurstBytes ?? LokiTestServerOptions.DefaultPerStreamBurstBytes, options.TimeProvider)
        : null;

    private readonly HashSet<(long TimestampNs, string Line, string Metadata)> _head = [];
    private int _headBytes;
    private (long TimestampNs, string Line, string Metadata)? _last;
    private long? _highestNs;

    private LokiDialect Dialect => options.Dialect;

    /// <summary>Pushes one stream's entries that passed the distributor; returns what was stored, dropped and refused.</summary>
    public Result Push(string tenant, LabelSet labels, IReadOnlyList<Candidate> candidates)
    {
        var window = options.OutOfOrderWindow > TimeSpan.Zero ? options.OutOfOrderWindow.Ticks * 100 : 0;
        var failed = new List<Failure>();
        var toStore = new List<(Candidate Entry, string Metadata)>();
        var duplicates = 0;
        var perEntryRate = Dialect.Major < 3 ? _rate : null;

        // stream.validateEntries works on copies of the last line and the newest timestamp.
        var last = _last;
        var highest = _highestNs;
        foreach (var candidate in candidates)
        {
            var metadata = MetadataKey(candidate);
            if (last is { } previous && previous == (candidate.TimestampNs, candidate.Line, metadata))
            {
                duplicates++;
                continue;
            }

            if (perEntryRate is { } rate && !rate.TryTake(candidate.RateBytes))
            {
                failed.Add(RateLimited(labels, candidate));
                continue;
            }

            if (window > 0 && highest is { } newest && candidate.TimestampNs < SaturatingSubtract(newest, window))
            {
                failed.Add(new(candidate.TimestampNs, LokiMessages.TooFarBehind(Dialect, candidate.TimestampNs, SaturatingSubtract(newest, window)), RateLimited: false));
                continue;
            }

            last = (candidate.TimestampNs, candidate.Line, metadata);
            highest = Math.Max(highest ?? long.MinValue, candidate.TimestampNs);
            toStore.Add((candidate, metadata));
        }

        // The whole stream at once: refused, the stream stores nothing and keeps its state, and the body lists only these
        // entries (the ones too far behind drop out of it).
        if (perEntryRate is null && _rate is { } whole && !whole.TryTake(toStore.Sum(entry => entry.Entry.RateBytes)))
        {
            var limited = toStore.ConvertAll(entry => RateLimited(labels, entry.Entry));
            return new Result([], toStore.Count + failed.Count, duplicates, ErrorAnswer(tenant, labels, limited, candidates.Count));
        }

        // stream.storeEntries: the head block drops what it already holds; the stream's state moves either way.
        var stored = new List<Candidate>(toStore.Count);
        foreach (var (candidate, metadata) in toStore)
        {
            if (_head.Add((candidate.TimestampNs, candidate.Line, metadata)))
            {
                stored.Add(candidate);
                _headBytes += Encoding.UTF8.GetByteCount(candidate.Line) + (Dialect.Major >= 3 ? candidate.Metadata.Count * 8 : 0);
                if (_headBytes >= options.HeadBlockBytes)
                {
                    _head.Clear();
                    _headBytes = 0;
                }
            }
            else
            {
                duplicates++;
            }

            _last = (candidate.TimestampNs, candidate.Line, metadata);
            _highestNs = Math.Max(_highestNs ?? long.MinValue, candidate.TimestampNs);
        }

        return new Result(stored, failed.Count, duplicates, failed.Count == 0 ? null : ErrorAnswer(tenant, labels, failed, candidates.Count));
    }

    /// <summary>Every entry of a stream the tenant may not create, refused with the stream-limit answer.</summary>
    public static Result StreamLimited(LokiDialect dialect, string tenant, LabelSet labels, int entries) =>
        new([], entries, 0, new(StatusCodes.Status429TooManyRequests, LokiMessages.StreamLimit(dialect, tenant, labels.Canonical)));

    private Failure RateLimited(LabelSet labels, Candidate candidate) =>
        new(candidate.TimestampNs, LokiMessages.StreamRateLimited(_rate!.Limit, labels.Canonical, candidate.RateBytes), RateLimited: true);

    // errorForFailedEntries: the first MaxReturnedErrors refusals, then the total; 429 when the last refusal is the rate's.
    private HttpAnswer ErrorAnswer(string tenant, LabelSet labels, List<Failure> failed, int total)
    {
        var text = new StringBuilder();
        var listed = options.MaxReturnedStreamErrors > 0 ? Math.Min(options.MaxReturnedStreamErrors, failed.Count) : failed.Count;
        foreach (var failure in failed.Take(listed))
        {
            text.Append(LokiMessages.IgnoredEntryLine(Dialect, failure.TimestampNs, failure.Reason, labels.Canonical)).Append('\n');
        }

        text.Append(LokiMessages.TotalIgnored(Dialect, tenant, failed.Count, total, labels.Canonical));
        var status = failed[^1].RateLimited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status400BadRequest;
        return new(status, text.ToString());
    }

    // 3.7 compares structured metadata too, in the order the distributor leaves it: sorted by name.
    private string MetadataKey(Candidate candidate) =>
        Dialect.AtLeast(3, 7) && candidate.Metadata.Count > 0
            ? LabelSet.Format(candidate.Metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            : "";

    private static long SaturatingSubtract(long value, long amount) => value < long.MinValue + amount ? long.MinValue : value - amount;

    /// <summary>An entry that passed the distributor's checks, with the bytes it counts against a rate.</summary>
    public readonly record struct Candidate(long TimestampNs, string Line, IReadOnlyList<KeyValuePair<string, string>> Metadata, long RateBytes);

    /// <summary>The outcome for one stream: the entries stored, how many were refused, how many dropped as duplicates, and the ingester's error answer if any was refused.</summary>
    public sealed record Result(IReadOnlyList<Candidate> Stored, int Refused, int Duplicates, HttpAnswer? Error);

    private readonly record struct Failure(long TimestampNs, string Reason, bool RateLimited);
}
