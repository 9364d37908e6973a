using System.Text;

namespace LogPersist.Loki;

/// <summary>
/// A stream's labels: names sanitised to Loki's rules (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>), empty values
/// left out, values cut to Loki's length limits, sorted by name. <see cref="Text"/> is the
/// Prometheus label-set string Loki parses, with <c>\\</c>, <c>\"</c> and <c>\n</c> escaped.
/// </summary>
internal sealed class LabelSet
{
    public const int MaxNameLength = 1024;
    public const int MaxValueBytes = 2048;

    private LabelSet(KeyValuePair<string, string>[] labels)
    {
        Labels = labels;
        Text = Format(labels);
    }

    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    /// <summary>The label-set string, e.g. <c>{pod="api-0", service_name="api"}</c>.</summary>
    public string Text { get; }

    public int Count => Labels.Count;

    /// <summary>Builds a label set; a later pair overrides an earlier one with the same (sanitised) name.</summary>
    public static LabelSet Create(IEnumerable<KeyValuePair<string, string?>> labels)
    {
        var byName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in labels)
        {
            var sanitized = SanitizeName(name);
            if (sanitized.Length == 0)
            {
                continue;
            }

            if (string.IsNullOrEmpty(value))
            {
                // Loki treats an empty value as an absent label; an override with no value removes it.
                byName.Remove(sanitized);
                continue;
            }

            byName[sanitized] = LimitValue(value);
        }

        return new LabelSet([.. byName]);
    }

    public LabelSet With(IEnumerable<KeyValuePair<string, string?>> more) =>
        Create(Labels.Select(l => new KeyValuePair<string, string?>(l.Key, l.Value)).Concat(more));

    /// <summary>Replaces every character Loki does not allow in a label name with '_' and prefixes a leading digit.</summary>
    public static string SanitizeName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "";
        }

        var builder = new StringBuilder(Math.Min(name.Length, MaxNameLength) + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }

        foreach (var c in name)
        {
            if (builder.Length >= MaxNameLength)
            {
                break;
            }

            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return builder.ToString();
    }

    private static string LimitValue(string value)
    {
        if (Encoding.UTF8.GetByteCount(value) <= MaxValueBytes)
        {
            return value;
        }

        var cut = MaxValueBytes / 3;
        var length = value.Length;
        // Grow the cut while it still fits; never split a surrogate pair.
        while (cut < length && Encoding.UTF8.GetByteCount(value.AsSpan(0, cut + 1)) <= MaxValueBytes)
        {
            cut++;
        }

        if (cut > 0 && cut < length && char.IsHighSurrogate(value[cut - 1]))
        {
            cut--;
        }

        return value[..cut];
    }

    private static string Format(KeyValuePair<string, string>[] labels)
    {
        var builder = new StringBuilder("{");
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.Append(labels[i].Key).Append("=\"");
            foreach (var c in labels[i].Value)
            {
                switch (c)
                {
                    case '\\': builder.Append(@"\\"); break;
                    case '"': builder.Append("\\\""); break;
                    case '\n': builder.Append(@"\n"); break;
                    default: builder.Append(c); break;
                }
            }

            builder.Append('"');
        }

        return builder.Append('}').ToString();
    }

    public override string ToString() => Text;
}
