using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A stream's labels, parsed strictly from the Prometheus label-set syntax Loki expects
/// (<c>{app="x", level="info"}</c>: names <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, double-quoted values with <c>\\</c>,
/// <c>\"</c> and <c>\n</c> escapes). Like Loki, labels with an empty value are dropped and the rest sorted by name.
/// </summary>
internal sealed class LabelSet
{
    private LabelSet(string canonical, FrozenDictionary<string, string> map)
    {
        Canonical = canonical;
        Map = map;
    }

    /// <summary>Sorted by name, <c>{a="x", b="y"}</c>: the form Loki prints a label set in.</summary>
    public string Canonical { get; }

    public FrozenDictionary<string, string> Map { get; }

    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || !IsNameStart(name[0]))
        {
            return false;
        }

        foreach (var c in name[1..])
        {
            if (!IsNameChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> is the whole 400 body text.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out LabelSet? labels, [NotNullWhen(false)] out string? error)
    {
        labels = null;
        var pairs = new List<KeyValuePair<string, string>>();
        if (!new Reader(text).TryReadLabelSet(pairs, out var syntaxError))
        {
            error = LokiMessages.CouldNotParseLabels(syntaxError);
            return false;
        }

        pairs.RemoveAll(pair => pair.Value.Length == 0);
        pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (var i = 1; i < pairs.Count; i++)
        {
            if (pairs[i].Key == pairs[i - 1].Key)
            {
                error = LokiMessages.DuplicateLabelName(text, pairs[i].Key);
                return false;
            }
        }

        if (pairs.Count == 0)
        {
            error = LokiMessages.MissingLabels;
            return false;
        }

        labels = new LabelSet(Format(pairs), pairs.ToFrozenDictionary(StringComparer.Ordinal));
        error = null;
        return true;
    }

    /// <summary>Writes pairs in label-set syntax, in the order given.</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var builder = new StringBuilder("{");
        foreach (var (name, value) in pairs)
        {
            if (builder.Length > 1)
            {
                builder.Append(", ");
            }

            builder.Append(name).Append("=\"");
            foreach (var c in value)
            {
                _ = c switch
                {
                    '\\' => builder.Append(@"\\"),
                    '"' => builder.Append("\\\""),
                    '\n' => builder.Append(@"\n"),
                    _ => builder.Append(c),
                };
            }

            builder.Append('"');
        }

        return builder.Append('}').ToString();
    }

    private static bool IsNameStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';

    private static bool IsNameChar(char c) => IsNameStart(c) || c is >= '0' and <= '9';

    /// <summary>A cursor over the text; errors name the 1-based column as Prometheus' parser does.</summary>
    private sealed class Reader(string text)
    {
        private int _position;

        public bool TryReadLabelSet(List<KeyValuePair<string, string>> pairs, [NotNullWhen(false)] out string? error)
        {
            SkipSpaces();
            if (!TryExpect('{', "\"{\"", out error))
            {
                return false;
            }

            SkipSpaces();
            while (Peek() != '}')
            {
                if (!TryReadName(out var name, out error) || !TrySkipThen('=', "\"=\"", out error) || !TryReadValue(out var value, out error))
                {
                    return false;
                }

                pairs.Add(new(name, value));
                SkipSpaces();
                if (Peek() == ',')
                {
                    _position++;
                    SkipSpaces();
                }
                else if (Peek() != '}')
                {
                    error = Unexpected("\",\" or \"}\"");
                    return false;
                }
            }

            _position++;
            SkipSpaces();
            if (_position < text.Length)
            {
                error = Unexpected("end of input");
                return false;
            }

            error = null;
            return true;
        }

        private bool TryReadName(out string name, [NotNullWhen(false)] out string? error)
        {
            var start = _position;
            if (_position < text.Length && IsNameStart(text[_position]))
            {
                _position++;
                while (_position < text.Length && IsNameChar(text[_position]))
                {
                    _position++;
                }
            }

            name = text[start.._position];
            error = name.Length == 0 ? Unexpected("label name") : null;
            return error is null;
        }

        private bool TryReadValue(out string value, [NotNullWhen(false)] out string? error)
        {
            value = "";
            SkipSpaces();
            if (!TryExpect('"', "quoted label value", out error))
            {
                return false;
            }

            var builder = new StringBuilder();
            while (true)
            {
                if (_position >= text.Length || text[_position] == '\n')
                {
                    error = Error("unterminated quoted string");
                    return false;
                }

                var c = text[_position++];
                if (c == '"')
                {
                    value = builder.ToString();
                    return true;
                }

                if (c != '\\')
                {
                    builder.Append(c);
                    continue;
                }

                var escaped = _position < text.Length ? text[_position++] : '\0';
                switch (escaped)
                {
                    case '\\' or '"':
                        builder.Append(escaped);
                        break;
                    case 'n':
                        builder.Append('\n');
                        break;
                    default:
                        _position -= 2;
                        error = Error("unknown escape sequence");
                        return false;
                }
            }
        }

        private bool TrySkipThen(char expected, string description, [NotNullWhen(false)] out string? error)
        {
            SkipSpaces();
            return TryExpect(expected, description, out error);
        }

        private bool TryExpect(char expected, string description, [NotNullWhen(false)] out string? error)
        {
            if (Peek() == expected)
            {
                _position++;
                error = null;
                return true;
            }

            error = Unexpected(description);
            return false;
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private void SkipSpaces()
        {
            while (_position < text.Length && text[_position] is ' ' or '\t' or '\r' or '\n')
            {
                _position++;
            }
        }

        private string Unexpected(string expected)
        {
            var found = _position < text.Length ? $"\"{text[_position]}\"" : "end of input";
            return Error($"unexpected {found}, expected {expected}");
        }

        private string Error(string message) =>
            string.Create(CultureInfo.InvariantCulture, $"1:{_position + 1}: parse error: {message}");
    }
}
