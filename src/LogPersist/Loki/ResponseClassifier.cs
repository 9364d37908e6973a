using System.Globalization;
using System.Text.RegularExpressions;

namespace LogPersist.Loki;

/// <summary>What the shipper does with a push answer.</summary>
internal enum PushVerdict
{
    /// <summary>2xx: every entry was accepted.</summary>
    Accepted,

    /// <summary>400: Loki kept the valid entries and refused the rest; final, never resent.</summary>
    Refused,

    /// <summary>413, or 500 "larger than max": split the request and send the halves.</summary>
    TooLarge,

    /// <summary>400 saying structured metadata is disallowed: fold metadata into lines and resend.</summary>
    MetadataDisallowed,

    /// <summary>422: the request held no entries; nothing to resend.</summary>
    Empty,

    /// <summary>429, 5xx, 408, or no answer: retry with backoff.</summary>
    Retry,

    /// <summary>401, 403 or another client error that only a configuration change fixes: retry at the longest delay, loudly.</summary>
    Misconfigured,
}

/// <summary>Why Loki refused entries, as counted in metrics and markers.</summary>
internal enum RefusalReason
{
    TooFarBehind,
    TooOld,
    LineTooLong,
    Other,
}

/// <summary>A classified answer: the verdict and, for a 400, how many entries were refused and why.</summary>
internal sealed record PushClassification(PushVerdict Verdict, int[] RefusedByReason, string? LastReason)
{
    public int Refused => RefusedByReason.Sum();
}

/// <summary>Maps Loki's status codes and 400 bodies to <see cref="PushVerdict"/> and refusal counts.</summary>
internal static partial class ResponseClassifier
{
    public static readonly string[] ReasonNames = ["too_far_behind", "too_old", "line_too_long", "other"];

    public static bool IsRetryable(in PushResponse response) => Classify(response, 0).Verdict is PushVerdict.Retry or PushVerdict.Misconfigured;

    public static PushClassification Classify(in PushResponse response, int entriesSent)
    {
        var counts = new int[ReasonNames.Length];
        switch (response.Status)
        {
            case >= 200 and < 300:
                return new(PushVerdict.Accepted, counts, null);
            case 0 or 408 or 429 or >= 500 when !IsTooLargeServerError(response):
                return new(PushVerdict.Retry, counts, null);
            case 413 or 500:
                return new(PushVerdict.TooLarge, counts, null);
            case 422:
                return new(PushVerdict.Empty, counts, null);
            case 400:
                return ClassifyBadRequest(response.Body, entriesSent, counts);
            default:
                return new(PushVerdict.Misconfigured, counts, FirstLine(response.Body));
        }
    }

    /// <summary>Loki answers 500 "larger than max" when a decompressed push is over its internal message limit.</summary>
    private static bool IsTooLargeServerError(in PushResponse response) =>
        response.Status == 500 && response.Body.Contains("larger than max", StringComparison.OrdinalIgnoreCase);

    private static PushClassification ClassifyBadRequest(string body, int entriesSent, int[] counts)
    {
        if (body.Contains("structured metadata", StringComparison.OrdinalIgnoreCase)
            && (body.Contains("disallowed", StringComparison.OrdinalIgnoreCase) || body.Contains("not allowed", StringComparison.OrdinalIgnoreCase)))
        {
            return new(PushVerdict.MetadataDisallowed, counts, FirstLine(body));
        }

        string? last = null;
        var listed = 0;
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || TotalIgnored().IsMatch(line))
            {
                continue;
            }

            counts[(int)Reason(line)]++;
            listed++;
            last = line;
        }

        // "total ignored: N out of M" is authoritative when Loki sends it; a body that lists fewer
        // lines than that (or none, for a whole-request error) charges the rest to "other".
        var total = TotalIgnored().Match(body);
        var refused = total.Success ? int.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture) : Math.Max(listed, 1);
        if (!total.Success && !body.Contains("ignored", StringComparison.OrdinalIgnoreCase) && listed <= 1 && IsWholeRequestError(body))
        {
            refused = entriesSent;
        }

        refused = Math.Min(refused, Math.Max(entriesSent, listed));
        if (refused > listed)
        {
            counts[(int)RefusalReason.Other] += refused - listed;
        }
        else if (refused < listed)
        {
            // More lines than refusals (a multi-line message): keep the count Loki gave, by the first reason seen.
            var reason = Array.FindIndex(counts, c => c > 0);
            Array.Clear(counts);
            counts[reason < 0 ? (int)RefusalReason.Other : reason] = refused;
        }

        return new(PushVerdict.Refused, counts, last ?? FirstLine(body));
    }

    private static RefusalReason Reason(string line)
    {
        if (line.Contains("too far behind", StringComparison.OrdinalIgnoreCase) || line.Contains("out of order", StringComparison.OrdinalIgnoreCase))
        {
            return RefusalReason.TooFarBehind;
        }

        if (line.Contains("too old", StringComparison.OrdinalIgnoreCase))
        {
            return RefusalReason.TooOld;
        }

        if (line.Contains("line too long", StringComparison.OrdinalIgnoreCase) || line.Contains("max entry size", StringComparison.OrdinalIgnoreCase))
        {
            return RefusalReason.LineTooLong;
        }

        return RefusalReason.Other;
    }

    /// <summary>Errors that refuse the whole request rather than single entries (a body Loki could not read, a bad label set).</summary>
    private static bool IsWholeRequestError(string body) =>
        body.Contains("parse", StringComparison.OrdinalIgnoreCase)
        || body.Contains("labels", StringComparison.OrdinalIgnoreCase)
        || body.Contains("unmarshal", StringComparison.OrdinalIgnoreCase)
        || body.Contains("content-type", StringComparison.OrdinalIgnoreCase)
        || body.Contains("decompress", StringComparison.OrdinalIgnoreCase);

    private static string FirstLine(string body)
    {
        var line = body.AsSpan().Trim();
        var end = line.IndexOf('\n');
        return (end < 0 ? line : line[..end]).ToString();
    }

    [GeneratedRegex(@"total ignored:\s*(\d+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TotalIgnored();
}
