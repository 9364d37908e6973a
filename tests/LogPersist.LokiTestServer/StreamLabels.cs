using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// What Loki does with a stream's label string before its entries: parse it (<see cref="LabelParser"/>), add a
/// <c>service_name</c> (3.x; in push.go from 3.2, after validation in 3.0 and 3.1), and check the set
/// (Validator.ValidateLabels in pkg/distributor/validator.go): not empty, not too many names, no name or value too long,
/// no name twice. A failed check refuses every entry of that stream only.
/// </summary>
internal sealed class StreamLabels(LokiTestServerOptions options)
{
    private const string ServiceName = "service_name";
    private const string UnknownService = "unknown_service";

    private LokiDialect Dialect => options.Dialect;

    /// <summary>
    /// Parses <paramref name="raw"/>; from 3.2 also adds <c>service_name</c>, as push.go does for every stream before anything
    /// else. On failure <paramref name="error"/> is the parser's message (without Loki's prefix).
    /// </summary>
    public bool TryParse(string raw, [NotNullWhen(true)] out Parsed? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (!LabelParser.TryParse(raw, Dialect, out var pairs, out error))
        {
            return false;
        }

        var labels = LabelSet.FromParsed(pairs);
        var added = false;
        if (Dialect.AtLeast(3, 2))
        {
            (labels, added) = WithServiceName(labels);
        }

        parsed = new Parsed(raw, labels, added);
        return true;
    }

    /// <summary>
    /// Checks a parsed stream; returns the stream's final labels, or null with the stream-level refusal in
    /// <paramref name="error"/>.
    /// </summary>
    public LabelSet? Validate(Parsed parsed, out string? error)
    {
        var labels = parsed.Labels;
        error = Check(labels, MessageStream(parsed));
        if (error is not null)
        {
            return null;
        }

        // 3.0 and 3.1 add service_name in the distributor after the checks, so it is never counted.
        if (Dialect.Major >= 3 && !Dialect.AtLeast(3, 2))
        {
            labels = WithServiceName(labels).Labels;
        }

        return labels;
    }

    private string? Check(LabelSet labels, string stream)
    {
        if (labels.Count == 0)
        {
            return LokiMessages.MissingLabels;
        }

        var names = labels.Count;
        if (Dialect.AtLeast(3, 2) && labels.Map.ContainsKey(ServiceName))
        {
            names--;
        }

        if (names > options.EffectiveMaxLabelNames)
        {
            return LokiMessages.MaxLabelNamesPerSeries(stream, names, options.EffectiveMaxLabelNames);
        }

        var last = "";
        foreach (var (name, value) in labels.Pairs)
        {
            if (Encoding.UTF8.GetByteCount(name) > options.MaxLabelNameLength)
            {
                return LokiMessages.LabelNameTooLong(stream, name);
            }

            if (Encoding.UTF8.GetByteCount(value) > options.MaxLabelValueLength)
            {
                return LokiMessages.LabelValueTooLong(stream, value);
            }

            if (name == last)
            {
                return LokiMessages.DuplicateLabelName(stream, name);
            }

            last = name;
        }

        return null;
    }

    // The stream as ValidateLabels prints it: stream.Labels, which push.go rewrites to the parsed form from 3.6 on,
    // in 3.2 to 3.5 only when it added service_name, and never before.
    private string MessageStream(Parsed parsed) =>
        Dialect.AtLeast(3, 6) || (Dialect.AtLeast(3, 2) && parsed.ServiceNameAdded) ? parsed.Labels.Canonical : parsed.Raw;

    private (LabelSet Labels, bool Added) WithServiceName(LabelSet labels)
    {
        var discover = options.EffectiveServiceNameLabels;
        if (discover.Count == 0 || labels.Map.ContainsKey(ServiceName))
        {
            return (labels, false);
        }

        var value = UnknownService;
        foreach (var name in discover)
        {
            if (labels.Map.TryGetValue(name, out var found) && found.Length > 0)
            {
                value = found;
                break;
            }
        }

        return (labels.With(ServiceName, value), true);
    }

    /// <summary>A stream's label string as sent and as parsed.</summary>
    public sealed record Parsed(string Raw, LabelSet Labels, bool ServiceNameAdded);
}
