using System.Globalization;
using System.Text;

namespace LogPersist.Loki;

/// <summary>
/// A stream's labels: names sanitised to Loki's rules (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>), empty values
/// left out, values cut to Loki's length limits and cleaned of what Loki's label parser refuses (see
/// <see cref="SanitizeValue"/>), sorted by name. <see cref="Text"/> is the
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
        Utf8Text = Encoding.UTF8.GetBytes(Text);
    }

    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    /// <summary>The label-set string, e.g. <c>{pod="api-0", service_name="api"}</c>.</summary>
    public string Text { get; }

    /// <summary><see cref="Text"/> as UTF-8, encoded once for every request that carries the stream.</summary>
    public byte[] Utf8Text { get; }

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

            byName[sanitized] = LimitValue(SanitizeValue(value));
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

    /// <summary>
    /// Replaces with <c>_</c> every character that would make Loki refuse the whole request or print the
    /// value differently from us: U+FFFD and unpaired surrogates (which UTF-8 encoding turns into U+FFFD;
    /// Loki's label lexer refuses it: "couldn't parse labels"), control and format characters, and
    /// spaces other than U+0020 (a newline stays: both sides escape it as <c>\n</c>). What is left is printed by Loki exactly as <see cref="Text"/> shows it,
    /// which lets an answer naming the stream be matched to it.
    /// </summary>
    public static string SanitizeValue(string value)
    {
        var span = value.AsSpan();
        var i = 0;
        while (i < span.Length && Printable(span, i, out var width))
        {
            i += width;
        }

        if (i == span.Length)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        builder.Append(span[..i]);
        while (i < span.Length)
        {
            if (Printable(span, i, out var width))
            {
                builder.Append(span.Slice(i, width));
                i += width;
            }
            else
            {
                builder.Append('_');
                i += Math.Max(width, 1);
            }
        }

        return builder.ToString();
    }

    private static bool Printable(ReadOnlySpan<char> text, int index, out int width)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            width = 2;
            var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[index + 1]));
            return category is not (UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Format);
        }

        width = 1;
        if (c < 0x7F)
        {
            // A newline is escaped as \n, by us and by Loki alike; other control characters are not.
            return c >= 0x20 || c == '\n';
        }

        return c != '\uFFFD' && CharUnicodeInfo.GetUnicodeCategory(c) is not (UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
            or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
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
