using LogPersist.LokiTestServer.Proto;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A decoded push taken through Loki's distributor (Distributor.Push in pkg/distributor/distributor.go) in the dialect's
/// order: zero streams; every label set parsed (the whole request refused when one fails, 2.9+); per stream the label
/// checks, blocking (3.5+), per-entry checks; the grouped validation errors; blocking (3.2 to 3.4); the ingestion rate
/// (429); then the ingester, whose answer is the last stream's result alone and, when it holds an error, replaces the
/// distributor's.
/// </summary>
internal sealed class Distributor(LokiTestServerOptions options, EntryStore store)
{
    private readonly EntryValidator _validator = new(options);
    private readonly StreamLabels _labels = new(options);
    private readonly IngestionRateLimiter? _rate = options.IngestionRateBytesPerSecond is { } rate
        ? new IngestionRateLimiter(rate, options.IngestionBurstBytes ?? 6L * 1024 * 1024, options.TimeProvider)
        : null;

    private LokiDialect Dialect => options.Dialect;

    public Outcome Push(string tenant, PushRequest push)
    {
        var total = push.Streams.Sum(stream => stream.Entries.Count);
        if (push.Streams.Count == 0)
        {
            return Dialect.AtLeast(3, 4) ? new(new(StatusCodes.Status422UnprocessableEntity, LokiMessages.MissingStreams)) : new(NoContent);
        }

        // push.go parses every stream's labels (whether it holds entries or not) before the distributor sees any.
        var parsed = new StreamLabels.Parsed?[push.Streams.Count];
        if (Dialect.AtLeast(2, 9))
        {
            for (var i = 0; i < parsed.Length; i++)
            {
                if (!_labels.TryParse(push.Streams[i].Labels, out parsed[i], out var error))
                {
                    return new(HttpAnswer.BadRequest(LokiMessages.CouldNotParseLabels(error)), Refused: total);
                }
            }
        }

        var now = options.TimeProvider.GetUtcNow();
        var blocked = Dialect.AtLeast(3, 2) && options.BlockIngestionUntil is { } until && now < until;
        var checkedPush = Check(push, parsed, _validator.WindowAt(now), blockStreams: blocked && Dialect.AtLeast(3, 5));
        var (toIngest, refused) = (checkedPush.ToIngest, checkedPush.Refused);
        var ingesting = toIngest.Sum(stream => stream.Entries.Count);

        // Any validation error wins over a per-stream block (3.5+).
        var errors = checkedPush.Errors;
        HttpAnswer? validation = errors.IsEmpty ? null : HttpAnswer.BadRequest(Dialect.AtLeast(2, 9) ? errors.ToString() : errors.Last!);
        if (validation is null && checkedPush.Blocked)
        {
            validation = Blocked(tenant);
        }

        if (toIngest.Count == 0)
        {
            return new(validation ?? NoContent, Refused: refused);
        }

        if (blocked && !Dialect.AtLeast(3, 5))
        {
            return new(Blocked(tenant) ?? NoContent, Refused: refused + ingesting);
        }

        if (_rate is { } rate && !rate.TryTake(tenant, checkedPush.RateBytes))
        {
            return new(
                new(StatusCodes.Status429TooManyRequests, LokiMessages.RateLimited(Dialect, tenant, rate.Limit, ingesting, checkedPush.RateBytes)),
                Refused: refused + ingesting);
        }

        var results = store.Push(tenant, toIngest);
        return new Outcome(
            results[^1].Error ?? validation ?? NoContent,
            Stored: results.Sum(r => r.Stored.Count),
            Refused: refused + results.Sum(r => r.Refused),
            Duplicates: results.Sum(r => r.Duplicates));
    }

    // The distributor's loop over the streams: labels, then a block (3.5+), then each entry.
    private Checked Check(PushRequest push, StreamLabels.Parsed?[] parsed, EntryValidator.Window window, bool blockStreams)
    {
        var result = new Checked();
        for (var i = 0; i < push.Streams.Count; i++)
        {
            var stream = push.Streams[i];
            if (stream.Entries.Count == 0)
            {
                continue;
            }

            if (Labels(stream, parsed[i], result.Errors) is not { } labels)
            {
                result.Refused += stream.Entries.Count;
                continue;
            }

            if (blockStreams)
            {
                result.Refused += stream.Entries.Count;
                result.Blocked = true;
                continue;
            }

            var candidates = new List<IngesterStream.Candidate>(stream.Entries.Count);
            foreach (var entry in stream.Entries)
            {
                var ns = UnixNanos.From(entry.Timestamp);
                if (_validator.Refuse(window, labels.Canonical, ns, entry) is { } reason)
                {
                    result.Errors.Add(reason);
                    result.Refused++;
                    continue;
                }

                var rateBytes = _validator.RateBytes(entry);
                candidates.Add(new(ns, entry.Line, Metadata(entry), rateBytes));
                result.RateBytes += rateBytes;
            }

            // From 3.2 a stream left without entries goes no further; before, it reaches the ingester (and can mask).
            if (candidates.Count > 0 || !Dialect.AtLeast(3, 2))
            {
                result.ToIngest.Add((labels, candidates));
            }
        }

        return result;
    }

    private static HttpAnswer NoContent => new(StatusCodes.Status204NoContent, "");

    // A stream's final labels, or null once its refusal is added to the errors (2.7 parses here, later releases in push.go).
    private LabelSet? Labels(StreamAdapter stream, StreamLabels.Parsed? parsed, GroupedErrors errors)
    {
        if (parsed is null && !_labels.TryParse(stream.Labels, out parsed, out var parseError))
        {
            errors.Add(LokiMessages.InvalidLabels(stream.Labels, parseError));
            return null;
        }

        var labels = _labels.Validate(parsed!, out var error);
        if (labels is null)
        {
            errors.Add(error!);
        }

        return labels;
    }

    // An answer of 200 is Loki's "block silently": no error, so 204 here, and nothing stored.
    private HttpAnswer? Blocked(string tenant) =>
        options.BlockIngestionStatusCode == StatusCodes.Status200OK
            ? null
            : new(options.BlockIngestionStatusCode, LokiMessages.BlockedIngestion(Dialect, tenant, options.BlockIngestionUntil!.Value, options.BlockIngestionStatusCode));

    // Loki 2.7 knows no structured metadata: the field is dropped silently.
    private KeyValuePair<string, string>[] Metadata(EntryAdapter entry)
    {
        if (entry.StructuredMetadata.Count == 0 || !Dialect.AtLeast(2, 9))
        {
            return [];
        }

        var pairs = new KeyValuePair<string, string>[entry.StructuredMetadata.Count];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = new(entry.StructuredMetadata[i].Name, entry.StructuredMetadata[i].Value);
        }

        return pairs;
    }

    /// <summary>What the distributor's checks left: the streams for the ingester, the errors, and the entries refused.</summary>
    private sealed class Checked
    {
        public List<(LabelSet Labels, List<IngesterStream.Candidate> Entries)> ToIngest { get; } = [];

        public GroupedErrors Errors { get; } = new();

        public int Refused { get; set; }

        public long RateBytes { get; set; }

        public bool Blocked { get; set; }
    }

    /// <summary>The answer to a push and what became of its entries.</summary>
    public readonly record struct Outcome(HttpAnswer Answer, int Stored = 0, int Refused = 0, int Duplicates = 0);
}
