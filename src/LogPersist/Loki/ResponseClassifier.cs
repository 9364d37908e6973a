using System.Globalization;
using System.Text.RegularExpressions;

namespace LogPersist.Loki;

/// <summary>What the shipper does with a push answer.</summary>
internal enum PushVerdict
{
    /// <summary>200 or 204 from the push URL: every entry was stored.</summary>
    Accepted,

    /// <summary>A 400 in Loki's own words: Loki kept the valid entries and refused the counted ones; final, never resent.</summary>
    Refused,

    /// <summary>413, or 500 "larger than max": split the request and send the halves.</summary>
    TooLarge,

    /// <summary>A 400 refusing structured metadata (disallowed, too large, too many): fold metadata into lines and resend.</summary>
    MetadataRefused,

    /// <summary>A 400 "couldn't parse labels", which refuses a whole request: send each stream on its own so only the bad one is refused.</summary>
    SplitByStream,

    /// <summary>429, 5xx, 408, or no answer: retry with backoff.</summary>
    Retry,

    /// <summary>
    /// A 429 for one stream: over the tenant's stream limit, or over the per-stream rate. The ingester
    /// stored the request's other streams, and answered for its last stream only. Retried with backoff;
    /// a request of several streams is then sent stream by stream, and a stream still refused is held
    /// (its entries moved to the WAL's tail) so that the others ship on.
    /// </summary>
    StreamHeld,

    /// <summary>260 (ingestion blocked) or another 2xx that is not 200/204: nothing was stored; retry at the time given, else with backoff.</summary>
    Blocked,

    /// <summary>
    /// A redirect, 401, 403, an invalid tenant, a 400 that is not recognisably Loki's, or another
    /// client error: only a configuration change fixes it. Retried at the longest delay, loudly; never a reason to drop.
    /// </summary>
    Misconfigured,
}

/// <summary>Why Loki refused entries, as counted in metrics and markers.</summary>
internal enum RefusalReason
{
    TooFarBehind,
    TooOld,
    TooNew,
    LineTooLong,
    StreamLabels,
    Other,
}

/// <summary>A stream whose labels Loki refused: every entry of it is refused, in this and every later request.</summary>
internal sealed record StreamRejection(string Labels, string Message);

/// <summary>A classified answer: the verdict and, for a refusal, how many entries were refused and why.</summary>
internal sealed record PushClassification(PushVerdict Verdict, int[] RefusedByReason, string? Reason)
{
    public int Refused => RefusedByReason.Sum();

    /// <summary>Streams refused as a whole because of their labels (stream-level errors).</summary>
    public IReadOnlyList<StreamRejection> RejectedStreams { get; init; } = [];

    /// <summary>For <see cref="PushVerdict.StreamHeld"/>: Loki said it stored none of the stream's entries.</summary>
    public bool StoredNone { get; init; }

    /// <summary>For <see cref="PushVerdict.StreamHeld"/>: the first entry Loki refused, Unix ns, when it said.</summary>
    public long? FirstRefusedNs { get; init; }

    /// <summary>For <see cref="PushVerdict.Blocked"/>: when the server said ingestion resumes, if it said.</summary>
    public DateTimeOffset? BlockedUntil { get; init; }

    public static int[] NoRefusals() => new int[ResponseClassifier.ReasonNames.Length];
}

/// <summary>
/// Maps push answers to <see cref="PushVerdict"/>. Only 200 and 204 acknowledge; a 400 is final only
/// when its body is recognisably Loki's (<see cref="LokiErrorBody"/>); anything else is held and retried.
/// </summary>
internal static partial class ResponseClassifier
{
    public static readonly string[] ReasonNames = ["too_far_behind", "too_old", "too_new", "line_too_long", "stream_labels", "other"];

    /// <summary>Whether the push pipeline sends the same request again (after a delay) rather than returning the answer.</summary>
    public static bool IsRetryable(in PushResponse response) =>
        Classify(response, []).Verdict is PushVerdict.Retry or PushVerdict.StreamHeld or PushVerdict.Blocked or PushVerdict.Misconfigured;

    /// <summary>
    /// Why a 429 concerns one stream, as the metric's reason: <c>stream_limit</c> (Loki's "maximum active
    /// stream limit exceeded", every version) or <c>stream_rate</c> ("Per stream rate limit exceeded");
    /// null for any other 429 (the tenant's ingestion rate, a gateway's limit), which concerns the whole request.
    /// </summary>
    public static string? HeldStream(string body) =>
        body.Contains("aximum active stream limit exceeded", StringComparison.Ordinal) ? "stream_limit"
        : body.Contains("Per stream rate limit exceeded", StringComparison.Ordinal) ? "stream_rate"
        : null;

    public static PushClassification Classify(in PushResponse response, IReadOnlyList<PushStream> streams)
    {
        var none = PushClassification.NoRefusals();
        switch (response.Status)
        {
            case 200 or 204:
                return new(PushVerdict.Accepted, none, null);
            case >= 200 and < 300:
                // 260 is Loki 3.2+'s "ingestion blocked … until 'T'"; no other 2xx is Loki's word for stored.
                return new(PushVerdict.Blocked, none, $"HTTP {response.Status}: {FirstLine(response.Body)}") { BlockedUntil = BlockedUntil(response.Body) };
            case >= 300 and < 400:
                return new(PushVerdict.Misconfigured, none, $"HTTP {response.Status} redirect{(response.LocationHost is { } host ? " to " + host : "")}; redirects are not followed, set the Loki URL to the final address");
            case 400:
                return LokiErrorBody.Classify(response.Body, response.BodyTruncated, streams);
            case 413:
                return new(PushVerdict.TooLarge, none, null);
            case 500 when LargerThanMax().IsMatch(response.Body):
                return new(PushVerdict.TooLarge, none, null);
            case 429 when HeldStream(response.Body) is not null:
                return new(PushVerdict.StreamHeld, none, FirstLine(response.Body)) { StoredNone = IgnoredAll(response.Body), FirstRefusedNs = FirstIgnoredNs(response.Body) };
            case 0 or 408 or 429 or >= 500:
                return new(PushVerdict.Retry, none, null);
            default:
                // 401, 403, 404, 405, 422 for a request that held entries (Loki answers 422 only to an empty one)…
                return new(PushVerdict.Misconfigured, none, $"HTTP {response.Status}: {FirstLine(response.Body)}");
        }
    }

    /// <summary>
    /// Whether the ingester's "total ignored: N out of M" says it stored none of the stream's entries (Loki 3's
    /// whole-stream rate check refuses all of them at once). False when the body does not say: some may be stored.
    /// </summary>
    internal static bool IgnoredAll(string body)
    {
        var match = IgnoredOfTotal().Match(body);
        return match.Success
            && long.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var ignored)
            && long.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var total)
            && ignored >= total;
    }

    [GeneratedRegex(@"total ignored: (\d{1,18}) out of (\d{1,18})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex IgnoredOfTotal();

    /// <summary>
    /// The timestamp, Unix ns, of the first entry in an ingester's "entry with timestamp T ignored" lines (T as
    /// Go prints a time: <c>2026-12-04 08:00:00.123456789 +0000 UTC</c>); null when there is none or it does
    /// not read. Loki checks a stream's entries in order: the ones before it were not refused.
    /// </summary>
    internal static long? FirstIgnoredNs(string body)
    {
        var match = IgnoredAt().Match(body);
        if (!match.Success
            || !DateTime.TryParseExact(match.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var seconds)
            || !int.TryParse(match.Groups[3].ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var offset))
        {
            return null;
        }

        var fraction = match.Groups[2].Success ? match.Groups[2].Value.PadRight(9, '0') : "0";
        var offsetSeconds = ((offset / 100 * 60) + (offset % 100)) * 60L;
        var unixSeconds = (long)(seconds - DateTime.UnixEpoch).TotalSeconds - offsetSeconds;
        return unixSeconds > (long.MaxValue / 1_000_000_000) - 1 || unixSeconds < (long.MinValue / 1_000_000_000) + 1
            ? null
            : (unixSeconds * 1_000_000_000) + long.Parse(fraction, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"entry with timestamp (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))? ([+-]\d{4}) ", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex IgnoredAt();

    /// <summary>The time in Loki's "ingestion blocked for user 'x' until 'T' with status code 'N'", when the body says it.</summary>
    internal static DateTimeOffset? BlockedUntil(string body)
    {
        var match = BlockedUntilText().Match(body);
        if (!match.Success)
        {
            return null;
        }

        // Loki formats the time as RFC 3339 (pkg/distributor/validator.go, ShouldBlockIngestion).
        return DateTimeOffset.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var until)
            ? until
            : null;
    }

    internal static string FirstLine(string body)
    {
        var line = body.AsSpan().Trim();
        var end = line.IndexOf('\n');
        line = end < 0 ? line : line[..end];
        return (line.Length > 200 ? line[..200] : line).ToString();
    }

    [GeneratedRegex(@"(?:grpc: received )?message larger than max", RegexOptions.CultureInvariant)]
    private static partial Regex LargerThanMax();

    [GeneratedRegex(@"^ingestion blocked for user '.*' (?:\(policy: '.*'\) )?until '([^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex BlockedUntilText();
}
