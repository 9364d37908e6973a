using System.Collections.Frozen;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A stream's labels as Loki keeps them: sorted by name, labels with an empty value dropped (Loki's
/// <c>syntax.ParseLabels</c>), printed as Prometheus' <c>labels.String()</c> does.
/// </summary>
internal sealed class LabelSet
{
    private LabelSet(List<KeyValuePair<string, string>> sorted)
    {
        Pairs = sorted;
        Canonical = Format(sorted);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in sorted)
        {
            map.TryAdd(name, value);
        }

        Map = map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Sorted by name, <c>{a="x", b="y"}</c>: the form Loki prints a label set in.</summary>
    public string Canonical { get; }

    /// <summary>The labels by name (the first of a duplicated name).</summary>
    public FrozenDictionary<string, string> Map { get; }

    /// <summary>The labels sorted by name, duplicates kept.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs { get; }

    public int Count => Pairs.Count;

    /// <summary>Sorts <paramref name="parsed"/> by name (byte order) and drops empty values, as Loki does right after parsing.</summary>
    public static LabelSet FromParsed(IEnumerable<KeyValuePair<string, string>> parsed)
    {
        return new LabelSet([.. parsed.Where(pair => pair.Value.Length > 0).OrderBy(pair => pair.Key, StringComparer.Ordinal)]);
    }

    /// <summary>This set with <paramref name="name"/>=<paramref name="value"/> added, kept sorted.</summary>
    public LabelSet With(string name, string value) => FromParsed(Pairs.Append(new(name, value)));

    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || !IsNameStart(name[0]))
        {
            return false;
        }

        foreach (var c in name[1..])
        {
            if (!IsNameStart(c) && c is not (>= '0' and <= '9'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Writes pairs in the order given as Prometheus' <c>labels.String()</c> and Loki's <c>loghttp.LabelSet.String()</c> do:
    /// values with Go's <c>strconv.Quote</c>, names as they are (quoted when not a classic label name).
    /// </summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var builder = new StringBuilder("{");
        foreach (var (name, value) in pairs)
        {
            if (builder.Length > 1)
            {
                builder.Append(", ");
            }

            builder.Append(IsValidName(name) ? name : GoQuote.Quote(name)).Append('=').Append(GoQuote.Quote(value));
        }

        return builder.Append('}').ToString();
    }

    private static bool IsNameStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';
}
