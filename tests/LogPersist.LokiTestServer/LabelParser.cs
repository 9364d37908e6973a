using System.Diagnostics.CodeAnalysis;
using System.Text;
using static LogPersist.LokiTestServer.LabelLexer;

namespace LogPersist.LokiTestServer;

/// <summary>
/// Prometheus' <c>ParseMetric</c> grammar (promql/parser/generated_parser.y, vendored by Loki), which Loki's
/// <c>syntax.ParseLabels</c> runs on a stream's labels: an optional metric name, then <c>{name="value", …}</c> with an
/// optional trailing comma, values in double quotes, single quotes or backticks with Go's escapes. From 3.5 (Prometheus 3)
/// a name may be quoted too, and a lone quoted string is the metric name. Errors read as Prometheus writes its first one:
/// <c>1:6: parse error: invalid UTF-8 rune</c>; the lexer's are exact, the grammar's follow its error rules.
/// </summary>
internal static class LabelParser
{
    public const string MetricName = "__name__";

    /// <summary>Parses <paramref name="text"/> into its pairs, in the order written; <paramref name="error"/> is Prometheus' message otherwise.</summary>
    public static bool TryParse(string text, LokiDialect dialect, [NotNullWhen(true)] out List<KeyValuePair<string, string>>? pairs, [NotNullWhen(false)] out string? error)
    {
        var parser = new State(text, dialect.AtLeast(3, 5));
        pairs = parser.Parse();
        error = parser.Error;
        if (error is not null)
        {
            pairs = null;
            return false;
        }

        return pairs is not null;
    }

    private sealed class State(string text, bool quotedNames)
    {
        private readonly LabelLexer _lexer = new(text);
        private readonly List<KeyValuePair<string, string>> _pairs = [];

        public string? Error { get; private set; }

        public List<KeyValuePair<string, string>>? Parse()
        {
            if (!TryNext(out var token))
            {
                return null;
            }

            string? metricName = null;
            if (token.Kind is TokenKind.Identifier or TokenKind.MetricIdentifier)
            {
                metricName = token.Text;
                if (!TryNext(out token))
                {
                    return null;
                }
            }

            if (token.Kind == TokenKind.LeftBrace)
            {
                if (!TryLabelSet() || !TryNext(out token))
                {
                    return null;
                }
            }

            // "start: error" catches anything after the label set (or instead of it).
            if (token.Kind != TokenKind.Eof)
            {
                Fail(token, "");
                return null;
            }

            if (metricName is not null)
            {
                _pairs.Add(new(MetricName, metricName));
            }

            return _pairs;
        }

        private bool TryLabelSet()
        {
            if (!TryNext(out var token))
            {
                return false;
            }

            if (token.Kind == TokenKind.RightBrace)
            {
                return true;
            }

            while (true)
            {
                if (!TryItem(ref token))
                {
                    return false;
                }

                if (token.Kind == TokenKind.RightBrace)
                {
                    return true;
                }

                if (token.Kind != TokenKind.Comma)
                {
                    return Fail(token, " in label set, expected \",\" or \"}\"");
                }

                if (!TryNext(out token))
                {
                    return false;
                }

                if (token.Kind == TokenKind.RightBrace)
                {
                    return true;
                }
            }
        }

        // One label_set_item; leaves the token after it in <paramref name="token"/>.
        private bool TryItem(ref Token token)
        {
            var quotedName = quotedNames && token.Kind == TokenKind.String;
            if (token.Kind != TokenKind.Identifier && !quotedName)
            {
                return Fail(token, " in label set, expected identifier or \"}\"");
            }

            var name = quotedName ? Unquote(token.Text) : token.Text;
            if (!TryNext(out token))
            {
                return false;
            }

            if (token.Kind != TokenKind.Equal)
            {
                if (quotedName)
                {
                    // string_identifier alone: the metric name.
                    _pairs.Add(new(MetricName, name));
                    return true;
                }

                return Fail(token, " in label set, expected \"=\"");
            }

            if (!TryNext(out token))
            {
                return false;
            }

            if (token.Kind != TokenKind.String)
            {
                return Fail(token, " in label set, expected string");
            }

            _pairs.Add(new(name, Unquote(token.Text)));
            return TryNext(out token);
        }

        private bool TryNext(out Token token)
        {
            token = _lexer.Next();
            if (token.Kind != TokenKind.Error)
            {
                return true;
            }

            Error = $"{Position(text, token.Start)}: parse error: {token.Text}";
            return false;
        }

        private bool Fail(Token token, string context)
        {
            Error = $"{Position(text, token.Start)}: parse error: unexpected {token.Description}{context}";
            return false;
        }
    }

    /// <summary>Prometheus' strutil.Unquote of a string the lexer accepted: Go's escapes decoded, byte escapes taken as UTF-8.</summary>
    public static string Unquote(string quoted)
    {
        var quote = quoted[0];
        var body = quoted.AsSpan(1, quoted.Length - 2);
        if (quote == '`' || !body.Contains('\\'))
        {
            return body.ToString();
        }

        var bytes = new List<byte>(body.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\')
            {
                var length = char.IsHighSurrogate(body[i]) && i + 1 < body.Length ? 2 : 1;
                var written = Encoding.UTF8.GetBytes(body.Slice(i, length), utf8);
                bytes.AddRange(utf8[..written]);
                i += length - 1;
                continue;
            }

            var c = body[++i];
            switch (c)
            {
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                case 'f': bytes.Add(12); break;
                case 'n': bytes.Add(10); break;
                case 'r': bytes.Add(13); break;
                case 't': bytes.Add(9); break;
                case 'v': bytes.Add(11); break;
                case >= '0' and <= '7':
                    bytes.Add(Convert.ToByte(body.Slice(i, 3).ToString(), 8));
                    i += 2;
                    break;
                case 'x':
                    bytes.Add(Convert.ToByte(body.Slice(i + 1, 2).ToString(), 16));
                    i += 2;
                    break;
                case 'u' or 'U':
                    var digits = c == 'u' ? 4 : 8;
                    var rune = new Rune(Convert.ToInt32(body.Slice(i + 1, digits).ToString(), 16));
                    var count = rune.EncodeToUtf8(utf8);
                    bytes.AddRange(utf8[..count]);
                    i += digits;
                    break;
                default:
                    // \\, \" or \' (the lexer let through only the string's own quote).
                    bytes.Add((byte)c);
                    break;
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}
