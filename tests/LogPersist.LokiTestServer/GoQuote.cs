using System.Globalization;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// Go's <c>strconv.Quote</c> and <c>strconv.QuoteRune</c>, which Loki uses to print label values (Prometheus'
/// <c>labels.String()</c>), label sets built from JSON (<c>loghttp.LabelSet.String()</c>) and <c>%q</c> in parse errors.
/// Printable runes stay as they are; quotes, backslashes and the rest are escaped the Go way.
/// </summary>
internal static class GoQuote
{
    public static string Quote(string value) => Append(new StringBuilder(value.Length + 2), value, '"').ToString();

    /// <summary>Go's <c>%q</c> of a string truncated to <paramref name="maxRunes"/> runes (<c>%.10q</c>).</summary>
    public static string Quote(string value, int maxRunes)
    {
        var builder = new StringBuilder();
        var taken = 0;
        var end = 0;
        while (end < value.Length && taken < maxRunes)
        {
            end += char.IsHighSurrogate(value[end]) && end + 1 < value.Length && char.IsLowSurrogate(value[end + 1]) ? 2 : 1;
            taken++;
        }

        return Append(builder, value[..end], '"').ToString();
    }

    /// <summary>Go's <c>%q</c> of one rune: <c>'-'</c>, <c>'\t'</c>, <c>'\''</c>.</summary>
    public static string QuoteRune(Rune rune)
    {
        var builder = new StringBuilder("'");
        AppendRune(builder, rune, '\'');
        return builder.Append('\'').ToString();
    }

    /// <summary>True for what Go's <c>unicode.IsPrint</c> calls printable: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    public static bool IsPrint(Rune rune) =>
        rune.Value == ' ' || Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => true,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => true,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation => true,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol or UnicodeCategory.OtherSymbol => true,
            _ => false,
        };

    private static StringBuilder Append(StringBuilder builder, string value, char quote)
    {
        builder.Append(quote);
        for (var i = 0; i < value.Length;)
        {
            // A lone surrogate cannot reach Go as such: it arrives as U+FFFD, which Go prints as it is.
            var status = Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed);
            AppendRune(builder, status == System.Buffers.OperationStatus.Done ? rune : Rune.ReplacementChar, quote);
            i += Math.Max(consumed, 1);
        }

        return builder.Append(quote);
    }

    private static void AppendRune(StringBuilder builder, Rune rune, char quote)
    {
        if (rune.Value == quote || rune.Value == '\\')
        {
            builder.Append('\\').Append((char)rune.Value);
            return;
        }

        if (IsPrint(rune))
        {
            builder.Append(rune.ToString());
            return;
        }

        _ = rune.Value switch
        {
            '\a' => builder.Append(@"\a"),
            '\b' => builder.Append(@"\b"),
            '\f' => builder.Append(@"\f"),
            '\n' => builder.Append(@"\n"),
            '\r' => builder.Append(@"\r"),
            '\t' => builder.Append(@"\t"),
            '\v' => builder.Append(@"\v"),
            < ' ' or 0x7f => builder.Append(CultureInfo.InvariantCulture, $@"\x{rune.Value:x2}"),
            < 0x10000 => builder.Append(CultureInfo.InvariantCulture, $@"\u{rune.Value:x4}"),
            _ => builder.Append(CultureInfo.InvariantCulture, $@"\U{rune.Value:x8}"),
        };
    }
}
