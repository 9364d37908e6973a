using System.Globalization;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The part of Prometheus' PromQL lexer (promql/parser/lex.go, vendored by Loki) that a stream's label set goes through:
/// identifiers, punctuation, and quoted strings checked rune by rune. Its first error is the one Loki reports, at the
/// start of the token being read. U+FFFD counts as invalid UTF-8 there, as Go's decoder returns it for both.
/// </summary>
internal sealed class LabelLexer(string text)
{
    private const int Eof = -1;

    private int _position;
    private int _start;
    private bool _braceOpen;

    /// <summary>Reads the next token; an <see cref="TokenKind.Error"/> token carries the lexer's message.</summary>
    public Token Next()
    {
        while (true)
        {
            _start = _position;
            var token = _braceOpen ? InsideBraces() : Statements();
            if (token is { } found)
            {
                return found;
            }
        }
    }

    /// <summary>The text's prefix up to <paramref name="charIndex"/> as Go prints a position: <c>line:column</c>, both 1-based, the column in bytes.</summary>
    public static string Position(string text, int charIndex)
    {
        var prefix = Encoding.UTF8.GetBytes(text[..Math.Min(charIndex, text.Length)]);
        var line = 1;
        var lastBreak = -1;
        for (var i = 0; i < prefix.Length; i++)
        {
            if (prefix[i] == '\n')
            {
                line++;
                lastBreak = i;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{line}:{prefix.Length - lastBreak}");
    }

    private Token? InsideBraces()
    {
        var r = ReadRune();
        switch (r)
        {
            case Eof:
                return Error("unexpected end of input inside braces");
            case ' ' or '\t' or '\n' or '\r':
                SkipSpaces();
                return null;
            case ',':
                return Emit(TokenKind.Comma);
            case '"' or '\'':
                return QuotedString((char)r);
            case '`':
                return RawString();
            case '=':
                return Peek() == '~' ? EmitAfter(1, TokenKind.Other, "\"=~\"") : Emit(TokenKind.Equal);
            case '!':
                var next = ReadRune();
                return next switch
                {
                    '~' => Emit(TokenKind.Other, "\"!~\""),
                    '=' => Emit(TokenKind.Other, "\"!=\""),
                    _ => Error($"unexpected character after '!' inside braces: {QuoteRune(next)}"),
                };
            case '{':
                return Error("unexpected left brace '{'");
            case '}':
                _braceOpen = false;
                return Emit(TokenKind.RightBrace);
            default:
                if (IsAlpha(r))
                {
                    while (IsAlphaNumeric(Peek()))
                    {
                        ReadRune();
                    }

                    return Emit(TokenKind.Identifier, "identifier " + GoQuote.Quote(text[_start.._position]));
                }

                return Error($"unexpected character inside braces: {QuoteRune(r)}");
        }
    }

    // Outside the braces only a metric name may stand; the rest is lexed as far as its error needs.
    private Token? Statements()
    {
        var r = ReadRune();
        switch (r)
        {
            case Eof:
                return new Token(TokenKind.Eof, _start, "", "end of input");
            case ' ' or '\t' or '\n' or '\r':
                SkipSpaces();
                return null;
            case ',':
                return Emit(TokenKind.Comma);
            case '{':
                _braceOpen = true;
                return Emit(TokenKind.LeftBrace);
            case '=':
                return Peek() switch
                {
                    '=' => EmitAfter(1, TokenKind.Other, "<op:==>"),
                    '~' => Error("unexpected character after '=': '~'"),
                    _ => Emit(TokenKind.Equal),
                };
            case '"' or '\'':
                return QuotedString((char)r);
            case '`':
                return RawString();
            case '(' or ')' or '[' or ']':
                return Emit(TokenKind.Other, $"\"{(char)r}\"");
            case '+' or '-' or '*' or '/' or '%' or '^':
                return Emit(TokenKind.Other, $"<op:{(char)r}>");
            default:
                if (IsAlpha(r) || r == ':')
                {
                    while (IsAlphaNumeric(Peek()) || Peek() == ':')
                    {
                        ReadRune();
                    }

                    var name = text[_start.._position];
                    return name.Contains(':', StringComparison.Ordinal)
                        ? new Token(TokenKind.MetricIdentifier, _start, name, "metric identifier " + GoQuote.Quote(name))
                        : new Token(TokenKind.Identifier, _start, name, "identifier " + GoQuote.Quote(name));
                }

                if (r is >= '0' and <= '9')
                {
                    while (IsAlphaNumeric(Peek()) || Peek() == '.')
                    {
                        ReadRune();
                    }

                    return Emit(TokenKind.Other, "number " + GoQuote.Quote(text[_start.._position]));
                }

                return Error($"unexpected character: {QuoteRune(r)}");
        }
    }

    private Token QuotedString(char quote)
    {
        while (true)
        {
            var r = ReadRune();
            if (r == '\\')
            {
                if (Escape(quote) is { } error)
                {
                    return error;
                }

                continue;
            }

            if (r == Rune.ReplacementChar.Value)
            {
                return Error("invalid UTF-8 rune");
            }

            if (r is Eof or '\n')
            {
                return Error("unterminated quoted string");
            }

            if (r == quote)
            {
                return EmitString();
            }
        }
    }

    private Token RawString()
    {
        while (true)
        {
            var r = ReadRune();
            if (r == Rune.ReplacementChar.Value)
            {
                return Error("invalid UTF-8 rune");
            }

            if (r == Eof)
            {
                return Error("unterminated raw string");
            }

            if (r == '`')
            {
                return EmitString();
            }
        }
    }

    // lexEscape: the escapes Go accepts in a quoted string, checked but not decoded (LabelParser.Unquote decodes).
    private Token? Escape(char quote)
    {
        var ch = ReadRune();
        int digits, numberBase, max;
        switch (ch)
        {
            case 'a' or 'b' or 'f' or 'n' or 'r' or 't' or 'v' or '\\':
                return null;
            case >= '0' and <= '7':
                (digits, numberBase, max) = (3, 8, 255);
                break;
            case 'x':
                ch = ReadRune();
                (digits, numberBase, max) = (2, 16, 255);
                break;
            case 'u':
                ch = ReadRune();
                (digits, numberBase, max) = (4, 16, 0x10FFFF);
                break;
            case 'U':
                ch = ReadRune();
                (digits, numberBase, max) = (8, 16, 0x10FFFF);
                break;
            case Eof:
                return Error("escape sequence not terminated");
            default:
                if (ch == quote)
                {
                    return null;
                }

                return Error($"unknown escape sequence {SharpU(ch)}");
        }

        long value = 0;
        while (digits > 0)
        {
            var digit = DigitValue(ch);
            if (digit >= numberBase)
            {
                return ch == Eof ? Error("escape sequence not terminated") : Error($"illegal character {SharpU(ch)} in escape sequence");
            }

            value = value * numberBase + digit;
            digits--;
            if (digits > 0)
            {
                ch = ReadRune();
            }
        }

        return value > max || value is >= 0xD800 and < 0xE000 ? Error("escape sequence is an invalid Unicode code point") : null;
    }

    private int ReadRune()
    {
        if (_position >= text.Length)
        {
            return Eof;
        }

        // A lone surrogate is what invalid UTF-8 became on its way here; Go reads it as RuneError.
        var status = Rune.DecodeFromUtf16(text.AsSpan(_position), out var rune, out var consumed);
        _position += Math.Max(consumed, 1);
        return status == System.Buffers.OperationStatus.Done ? rune.Value : Rune.ReplacementChar.Value;
    }

    private int Peek()
    {
        if (_position >= text.Length)
        {
            return Eof;
        }

        var status = Rune.DecodeFromUtf16(text.AsSpan(_position), out var rune, out _);
        return status == System.Buffers.OperationStatus.Done ? rune.Value : Rune.ReplacementChar.Value;
    }

    private void SkipSpaces()
    {
        while (Peek() is ' ' or '\t' or '\n' or '\r')
        {
            _position++;
        }
    }

    private Token Emit(TokenKind kind, string? description = null)
    {
        var value = text[_start.._position];
        return new Token(kind, _start, value, description ?? GoQuote.Quote(value));
    }

    private Token EmitAfter(int extraChars, TokenKind kind, string description)
    {
        _position += extraChars;
        return Emit(kind, description);
    }

    // Item.desc() of a STRING: its quoted text, cut to 10 runes when longer than 10 bytes.
    private Token EmitString()
    {
        var value = text[_start.._position];
        var quoted = Encoding.UTF8.GetByteCount(value) > 10 ? GoQuote.Quote(value, 10) + "..." : GoQuote.Quote(value);
        return new Token(TokenKind.String, _start, value, "string " + quoted);
    }

    private Token Error(string message) => new(TokenKind.Error, _start, message, message);

    private static string QuoteRune(int r) => GoQuote.QuoteRune(r == Eof ? Rune.ReplacementChar : new Rune(r));

    // Go's %#U: U+0071 'q' (the character only when printable).
    private static string SharpU(int r)
    {
        var code = string.Create(CultureInfo.InvariantCulture, $"U+{r:X4}");
        return Rune.IsValid(r) && GoQuote.IsPrint(new Rune(r)) ? $"{code} '{new Rune(r)}'" : code;
    }

    private static int DigitValue(int ch) => ch switch
    {
        >= '0' and <= '9' => ch - '0',
        >= 'a' and <= 'f' => ch - 'a' + 10,
        >= 'A' and <= 'F' => ch - 'A' + 10,
        _ => 16,
    };

    private static bool IsAlpha(int r) => r == '_' || r is >= 'a' and <= 'z' || r is >= 'A' and <= 'Z';

    private static bool IsAlphaNumeric(int r) => IsAlpha(r) || r is >= '0' and <= '9';

    /// <summary>The kinds of token the label-set grammar tells apart.</summary>
    public enum TokenKind
    {
        Eof,
        Error,
        LeftBrace,
        RightBrace,
        Comma,
        Equal,
        Identifier,
        MetricIdentifier,
        String,
        Other,
    }

    /// <summary>A token: where it starts (char index), its text (the message for an error) and how Prometheus describes it in an error.</summary>
    public readonly record struct Token(TokenKind Kind, int Start, string Text, string Description);
}
