using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LogPersist.Loki;

/// <summary>
/// Reads a 400 body as Loki writes it, in both dialects:
/// <list type="bullet">
/// <item>the distributor's validation errors: 3.x (and 2.9) group them on one line,
/// <c>N errors like: &lt;msg&gt;; M errors like: &lt;msg&gt;</c> (a lone error is just <c>&lt;msg&gt;</c>);
/// 2.7 writes a message a line;</item>
/// <item>the ingester's out-of-order refusals of one stream: up to 10 lines
/// <c>entry with timestamp … ignored, reason: '…',</c> then <c>user 'x', total ignored: N out of M for stream: {…}</c>
/// (2.x: each line names the stream, and the last is <c>total ignored: N out of M</c>).</item>
/// </list>
/// The stream label sets Loki embeds in its messages are replaced by placeholders before anything is
/// matched, so no label value (<c>parser</c>, <c>too old</c>…) can change the reading. A body with
/// anything this reader does not recognise is not Loki's: it is held and retried, never counted as a
/// partial success.
/// </summary>
internal static partial class LokiErrorBody
{
    private const char Open = '\u0001';
    private const char Close = '\u0002';

    private enum Kind
    {
        Entry,
        Metadata,
        StreamLabels,
        WholeRequest,
        Configuration,
    }

    public static PushClassification Classify(string body, bool truncated, IReadOnlyList<PushStream> streams)
    {
        var text = WithPlaceholders(body, streams);
        var counts = PushClassification.NoRefusals();
        var rejected = new List<StreamRejection>();
        var rejectedStreams = new HashSet<int>();
        var unattributedStreamError = false;
        var verdict = PushVerdict.Refused;
        string? last = null;
        var lines = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ingesterListed = new int[counts.Length];
        var ingesterTotal = 0;
        var recognised = 0;
        for (var l = 0; l < lines.Length; l++)
        {
            var line = lines[l];
            var isLastLine = l == lines.Length - 1;

            var total = TotalIgnored().Match(line);
            if (total.Success)
            {
                ingesterTotal += int.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture);
                recognised++;
                continue;
            }

            var ignored = IgnoredEntry().Match(line);
            if (ignored.Success)
            {
                if (Match(ignored.Groups["reason"].Value) is not { } ingesterReason || ingesterReason.Kind != Kind.Entry)
                {
                    if (truncated && isLastLine)
                    {
                        continue;
                    }

                    return Unrecognised(body);
                }

                ingesterListed[(int)ingesterReason.Reason]++;
                last = ingesterReason.Text;
                recognised++;
                continue;
            }

            foreach (var (count, message) in Groups(line))
            {
                if (Match(message) is not { } found)
                {
                    if (truncated && isLastLine)
                    {
                        break;
                    }

                    return Unrecognised(body);
                }

                recognised++;
                last = found.Text;
                switch (found.Kind)
                {
                    case Kind.Configuration:
                        return new(PushVerdict.Misconfigured, PushClassification.NoRefusals(), "HTTP 400: " + Restore(message, streams));
                    case Kind.WholeRequest when streams.Count > 1:
                        return new(PushVerdict.SplitByStream, PushClassification.NoRefusals(), Restore(message, streams));
                    case Kind.Metadata:
                        verdict = PushVerdict.MetadataRefused;
                        break;
                    case Kind.Entry:
                        counts[(int)found.Reason] += count;
                        break;
                    case Kind.StreamLabels or Kind.WholeRequest:
                        var stream = found.Stream ?? (streams.Count == 1 ? 0 : -1);
                        if (stream < 0)
                        {
                            unattributedStreamError = true;
                        }
                        else if (rejectedStreams.Add(stream))
                        {
                            counts[(int)RefusalReason.StreamLabels] += streams[stream].Entries.Count;
                            rejected.Add(new StreamRejection(streams[stream].Labels.Text, Restore(message, streams)));
                        }

                        break;
                }
            }
        }

        if (recognised == 0)
        {
            return Unrecognised(body);
        }

        var reason = last is null ? null : Restore(last, streams);
        if (verdict == PushVerdict.MetadataRefused)
        {
            // The whole range is sent again with metadata in the lines; what else was refused is counted then.
            return new(PushVerdict.MetadataRefused, PushClassification.NoRefusals(), reason);
        }

        // The ingester lists at most 10 entries of the stream it reports; the rest of its total is charged
        // to the reason it listed most.
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] += ingesterListed[i];
        }

        var listed = ingesterListed.Sum();
        if (ingesterTotal > listed)
        {
            counts[(int)MostListed(ingesterListed)] += ingesterTotal - listed;
        }

        if (lines.Length == 1 && recognised == 1 && !GroupStart().IsMatch(lines[0]) && Match(lines[0]) is { Kind: Kind.Entry } lone)
        {
            // A lone message: exactly one refusal in 3.x, but Loki 2.7 answers only its last validation error, however
            // many there were. The limit it states, applied to what was sent, counts every entry it refuses.
            counts[(int)lone.Reason] = Math.Max(1, CountByStatedLimit(lone, streams));
        }

        var sent = streams.Sum(s => s.Entries.Count);
        if (unattributedStreamError || (truncated && counts.Sum() < sent))
        {
            // A stream-level error naming a stream that was not sent as such, or a body cut before its
            // end: what was stored cannot be told, so every entry not yet counted is charged as refused.
            var charge = unattributedStreamError ? RefusalReason.StreamLabels : MostListed(counts);
            counts[(int)charge] += Math.Max(0, sent - counts.Sum());
        }

        Cap(counts, sent);
        return new(PushVerdict.Refused, counts, reason) { RejectedStreams = rejected };
    }

    /// <summary>
    /// Entries of the named stream (of every stream when it is not named) beyond the limit a per-entry message states:
    /// older than "oldest acceptable timestamp is: T" (T is cut to the second, so up to a second later counts), at or
    /// after a "timestamp too new: T", longer than "max entry size 'N' bytes". 0 when the message states no usable limit.
    /// </summary>
    private static int CountByStatedLimit(Found found, IReadOnlyList<PushStream> streams)
    {
        Func<PushEntry, bool>? refused = null;
        switch (found.Reason)
        {
            case RefusalReason.TooOld when OldestAcceptable().Match(found.Text) is { Success: true } m && TryParseNs(m.Groups[1].Value, out var oldest):
                refused = e => e.TimestampNs < oldest + 1_000_000_000;
                break;
            case RefusalReason.TooNew when TooNewAt().Match(found.Text) is { Success: true } m && TryParseNs(m.Groups[1].Value, out var at):
                refused = e => e.TimestampNs >= at;
                break;
            case RefusalReason.LineTooLong when MaxEntrySize().Match(found.Text) is { Success: true } m
                                               && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var max):
                refused = e => e.LineBytes > max;
                break;
        }

        if (refused is null)
        {
            return 0;
        }

        var count = 0;
        for (var i = 0; i < streams.Count; i++)
        {
            if (found.Stream is null || found.Stream == i)
            {
                foreach (var entry in streams[i].Entries)
                {
                    count += refused(entry) ? 1 : 0;
                }
            }
        }

        return count;
    }

    private static bool TryParseNs(string rfc3339, out long ns)
    {
        ns = 0;
        if (!DateTimeOffset.TryParse(rfc3339, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return false;
        }

        ns = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        return true;
    }

    /// <summary>The groups of one distributor line: <c>(N, msg)</c> for "N errors like: msg", <c>(1, line)</c> for a lone message.</summary>
    private static IEnumerable<(int Count, string Message)> Groups(string line)
    {
        var first = GroupStart().Match(line);
        if (!first.Success)
        {
            yield return (1, line);
            yield break;
        }

        var parts = GroupSeparator().Split(line);
        foreach (var part in parts)
        {
            var start = GroupStart().Match(part);
            if (start.Success)
            {
                yield return (int.Parse(start.Groups[1].Value, CultureInfo.InvariantCulture), part[start.Length..]);
            }
            else
            {
                yield return (1, part);
            }
        }
    }

    private static Found? Match(string message)
    {
        foreach (var (pattern, kind, reason) in Templates)
        {
            var match = pattern.Match(message);
            if (match.Success)
            {
                var stream = match.Groups["s"] is { Success: true } s ? StreamIndex(s.Value) : null;
                return new Found(kind, reason, stream, message);
            }
        }

        return null;
    }

    private static int? StreamIndex(string text) =>
        text.Length > 2 && text[0] == Open && text[^1] == Close
        && int.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : null;

    /// <summary>Replaces each sent stream's label set, as Loki prints it, with <c>\u0001{index}\u0002</c>; longest first.</summary>
    private static string WithPlaceholders(string body, IReadOnlyList<PushStream> streams)
    {
        if (streams.Count == 0 || body.IndexOf('{', StringComparison.Ordinal) < 0)
        {
            return body;
        }

        var builder = new StringBuilder(body);
        foreach (var i in Enumerable.Range(0, streams.Count).OrderByDescending(i => streams[i].Labels.Text.Length))
        {
            builder.Replace(streams[i].Labels.Text, Open + i.ToString(CultureInfo.InvariantCulture) + Close);
        }

        return builder.ToString();
    }

    private static string Restore(string text, IReadOnlyList<PushStream> streams)
    {
        if (text.IndexOf(Open, StringComparison.Ordinal) < 0)
        {
            return text;
        }

        return Placeholder().Replace(text, m =>
            int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < streams.Count ? streams[i].Labels.Text : m.Value);
    }

    private static RefusalReason MostListed(int[] counts)
    {
        var best = (int)RefusalReason.Other;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0 && (counts[best] == 0 || counts[i] > counts[best]))
            {
                best = i;
            }
        }

        return counts[best] > 0 ? (RefusalReason)best : RefusalReason.TooFarBehind;
    }

    /// <summary>Never more refusals than entries sent: a body may repeat a stream-level error per stream.</summary>
    private static void Cap(int[] counts, int sent)
    {
        var left = sent;
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Math.Min(counts[i], left);
            left -= counts[i];
        }
    }

    private static PushClassification Unrecognised(string body) =>
        new(PushVerdict.Misconfigured, PushClassification.NoRefusals(), "HTTP 400 that is not Loki's (held and retried): " + ResponseClassifier.FirstLine(body));

    private sealed record Found(Kind Kind, RefusalReason Reason, int? Stream, string Text);

    // Loki's messages, anchored, with the stream as group "s". Sources: pkg/validation/validate.go
    // (v2.7.7–v3.7.6), pkg/chunkenc/interface.go (errTooFarBehind), pkg/loghttp/push/push.go,
    // dskit tenant/tenant.go and user/id.go, Go's mime package.
    private static readonly (Regex Pattern, Kind Kind, RefusalReason Reason)[] Templates =
    [
        (Template(@"entry for stream '(?<s>.*)' has timestamp too old: "), Kind.Entry, RefusalReason.TooOld),
        (Template(@"entry for stream '(?<s>.*)' has timestamp too new: "), Kind.Entry, RefusalReason.TooNew),
        (Template(@"max entry size '\d+' bytes exceeded for stream '(?<s>.*)' while adding an entry with length '\d+' bytes"), Kind.Entry, RefusalReason.LineTooLong),
        (Template(@"entry too far behind"), Kind.Entry, RefusalReason.TooFarBehind),
        (Template(@"entry out of order"), Kind.Entry, RefusalReason.TooFarBehind),
        (Template(@"stream '(?<s>.*)' includes structured metadata, but this feature is disallowed"), Kind.Metadata, RefusalReason.Other),
        (Template(@"stream '(?<s>.*)' has structured metadata too large: "), Kind.Metadata, RefusalReason.Other),
        (Template(@"stream '(?<s>.*)' has too many structured metadata labels: "), Kind.Metadata, RefusalReason.Other),
        (Template(@"entry for stream '(?<s>.*)' has \d+ label names; limit \d+"), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"stream '(?<s>.*)' has label name too long: "), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"stream '(?<s>.*)' has label value too long: "), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"stream '(?<s>.*)' has duplicate label name: "), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"error parsing labels '(?<s>.*)' with error: "), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"missing required labels '.*' for user '.*' for stream '(?<s>.*)' \(policy: "), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"error at least one label pair is required per stream"), Kind.StreamLabels, RefusalReason.StreamLabels),
        (Template(@"couldn't parse labels: "), Kind.WholeRequest, RefusalReason.StreamLabels),
        (Template(@"tenant ID '.*' contains unsupported character "), Kind.Configuration, RefusalReason.Other),
        (Template(@"tenant ID is too long"), Kind.Configuration, RefusalReason.Other),
        (Template(@"tenant ID is '\.' or '\.\.'"), Kind.Configuration, RefusalReason.Other),
        (Template(@"multiple org IDs present"), Kind.Configuration, RefusalReason.Other),
        (Template(@"no org id"), Kind.Configuration, RefusalReason.Other),
        (Template(@"mime: "), Kind.Configuration, RefusalReason.Other),
        (Template(@"Content-Encoding "".*"" not supported"), Kind.Configuration, RefusalReason.Other),
        (Template(@"snappy: corrupt input"), Kind.Configuration, RefusalReason.Other),
    ];

    private static Regex Template(string pattern) =>
        new("^" + pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));

    [GeneratedRegex(@"^(?:user '.*', )?total ignored: (\d+) out of \d+", RegexOptions.CultureInvariant)]
    private static partial Regex TotalIgnored();

    [GeneratedRegex(@"^entry with timestamp .+? ignored, reason: '(?<reason>.*)'(?: for stream: .*)?,?$", RegexOptions.CultureInvariant)]
    private static partial Regex IgnoredEntry();

    [GeneratedRegex(@"oldest acceptable timestamp is: (\S+)$", RegexOptions.CultureInvariant)]
    private static partial Regex OldestAcceptable();

    [GeneratedRegex(@"has timestamp too new: (\S+)$", RegexOptions.CultureInvariant)]
    private static partial Regex TooNewAt();

    [GeneratedRegex(@"^max entry size '(\d+)' bytes", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex MaxEntrySize();

    [GeneratedRegex(@"^(\d+) errors like: ", RegexOptions.CultureInvariant)]
    private static partial Regex GroupStart();

    [GeneratedRegex(@"; (?=\d+ errors like: )", RegexOptions.CultureInvariant)]
    private static partial Regex GroupSeparator();

    [GeneratedRegex("\u0001(\\d+)\u0002", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
