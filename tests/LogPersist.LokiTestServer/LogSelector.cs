using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A LogQL stream selector, <c>{app="x", level=~"warn|error"}</c>, with the matchers <c>=</c>, <c>!=</c>,
/// <c>=~</c> and <c>!~</c>. Regexes match the whole value, and a missing label matches as "", as in Loki.
/// Pipelines after the selector are not supported.
/// </summary>
internal sealed class LogSelector
{
    private readonly List<Matcher> _matchers;

    private LogSelector(List<Matcher> matchers) => _matchers = matchers;

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var matcher in _matchers)
        {
            if (!matcher.Matches(labels.GetValueOrDefault(matcher.Name, "")))
            {
                return false;
            }
        }

        return true;
    }

    public static bool TryParse(string? query, [NotNullWhen(true)] out LogSelector? selector, [NotNullWhen(false)] out string? error)
    {
        selector = null;
        var text = query ?? "";
        var position = 0;
        var matchers = new List<Matcher>();

        SkipSpaces(text, ref position);
        if (!Take(text, ref position, "{"))
        {
            return Fail(text, position, "expected \"{\"", out error);
        }

        while (true)
        {
            SkipSpaces(text, ref position);
            if (Take(text, ref position, "}"))
            {
                break;
            }

            var start = position;
            while (position < text.Length && (char.IsAsciiLetterOrDigit(text[position]) || text[position] == '_'))
            {
                position++;
            }

            var name = text[start..position];
            if (!LabelSet.IsValidName(name))
            {
                return Fail(text, start, "expected a label name", out error);
            }

            SkipSpaces(text, ref position);
            var op = Take(text, ref position, "=~") ? "=~" : Take(text, ref position, "!~") ? "!~" : Take(text, ref position, "!=") ? "!=" : Take(text, ref position, "=") ? "=" : null;
            if (op is null)
            {
                return Fail(text, position, "expected one of =, !=, =~, !~", out error);
            }

            SkipSpaces(text, ref position);
            if (!TryReadString(text, ref position, out var value))
            {
                return Fail(text, position, "expected a double-quoted string", out error);
            }

            Regex? regex = null;
            if (op is "=~" or "!~")
            {
                try
                {
                    regex = new Regex("^(?:" + value + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
                }
                catch (ArgumentException e)
                {
                    return Fail(text, start, "invalid regex: " + e.Message, out error);
                }
            }

            matchers.Add(new Matcher(name, op, value, regex));
            SkipSpaces(text, ref position);
            if (!Take(text, ref position, ",") && (position >= text.Length || text[position] != '}'))
            {
                return Fail(text, position, "expected \",\" or \"}\"", out error);
            }
        }

        SkipSpaces(text, ref position);
        if (position < text.Length)
        {
            return Fail(text, position, "only a stream selector is supported by the test server", out error);
        }

        if (!matchers.Exists(m => m.Op is "=" or "=~" && !m.Matches("")))
        {
            return Fail(text, 0, "queries require at least one regexp or equality matcher that does not have an empty-compatible value", out error);
        }

        selector = new LogSelector(matchers);
        error = null;
        return true;
    }

    private static bool TryReadString(string text, ref int position, out string value)
    {
        value = "";
        if (!Take(text, ref position, "\""))
        {
            return false;
        }

        var builder = new StringBuilder();
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
            {
                value = builder.ToString();
                return true;
            }

            if (c == '\\' && position < text.Length)
            {
                var escaped = text[position++];
                _ = escaped switch
                {
                    'n' => builder.Append('\n'),
                    't' => builder.Append('\t'),
                    '"' or '\\' => builder.Append(escaped),
                    _ => builder.Append('\\').Append(escaped),
                };
                continue;
            }

            builder.Append(c);
        }

        return false;
    }

    private static bool Take(string text, ref int position, string token)
    {
        if (string.CompareOrdinal(text, position, token, 0, token.Length) == 0 && position + token.Length <= text.Length)
        {
            position += token.Length;
            return true;
        }

        return false;
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && char.IsWhiteSpace(text[position]))
        {
            position++;
        }
    }

    private static bool Fail(string text, int position, string message, out string error)
    {
        error = string.Create(CultureInfo.InvariantCulture, $"parse error at line 1, col {position + 1}: {message} in {text}");
        return false;
    }

    private sealed record Matcher(string Name, string Op, string Value, Regex? Regex)
    {
        public bool Matches(string actual) => Op switch
        {
            "=" => actual == Value,
            "!=" => actual != Value,
            "=~" => Regex!.IsMatch(actual),
            _ => !Regex!.IsMatch(actual),
        };
    }
}
