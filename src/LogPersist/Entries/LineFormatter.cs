using System.Buffers;
using System.Text;
using System.Text.Json;

namespace LogPersist.Entries;

/// <summary>
/// Turns a decoded entry into the UTF-8 line Loki stores, in the configured <see cref="LineFormat"/>.
/// The result depends only on the entry and the options, so a resent entry is byte-identical.
/// One instance reuses its buffers and is not thread-safe.
/// </summary>
internal sealed class LineFormatter : IDisposable
{
    private static readonly SearchValues<byte> NeedsQuotes = SearchValues.Create(" =\"\\\n\r\t"u8);

    private static readonly byte[][] ReservedJsonNames =
        ["level"u8.ToArray(), "category"u8.ToArray(), "cut"u8.ToArray(), "msg"u8.ToArray(), "template"u8.ToArray(),
         "event_id"u8.ToArray(), "event_name"u8.ToArray(), "scopes"u8.ToArray(), "exception"u8.ToArray(), "trace_id"u8.ToArray(), "span_id"u8.ToArray()];

    private readonly LineFormat _format;
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private readonly ArrayBufferWriter<byte> _text = new(256);
    private readonly ArrayBufferWriter<byte> _scratchBuffer = new(256);
    private readonly Utf8JsonWriter _json;
    private readonly Utf8JsonWriter _scratch;

    public LineFormatter(LineFormat format)
    {
        _format = format;
        _json = new Utf8JsonWriter(_line, ValueText.JsonOptions);
        _scratch = new Utf8JsonWriter(_scratchBuffer, ValueText.JsonOptions);
    }

    /// <summary>
    /// Formats <paramref name="entry"/>; the line is valid until the next call. With
    /// <paramref name="includeTrace"/> false the trace and span ids are left out (they travel as
    /// structured metadata instead); so are the properties whose index (0 to 63) has its bit set in
    /// <paramref name="asMetadata"/>.
    /// </summary>
    public ReadOnlySpan<byte> Format(in EntryView entry, bool includeTrace, ulong asMetadata = 0)
    {
        _line.ResetWrittenCount();
        try
        {
            switch (_format)
            {
                case LineFormat.Logfmt:
                    WriteLogfmt(entry, includeTrace, asMetadata);
                    break;
                case LineFormat.Text:
                    WriteText(entry, includeTrace);
                    break;
                default:
                    WriteJson(entry, includeTrace, asMetadata);
                    break;
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            // Only malformed UTF-8 or numbers written by a broken producer get here; keep the message readable.
            _line.ResetWrittenCount();
            _json.Reset(_line);
            _line.Write(EntryLevels.Utf8Name(entry.Level));
            _line.Write(" "u8);
            _line.Write(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(entry.Message.IsEmpty ? entry.Template : entry.Message)));
        }

        return _line.WrittenSpan;
    }

    /// <summary>
    /// Formats a marker straight into a line: byte for byte the line of an entry of the marker's level,
    /// category <see cref="Markers.Category"/>, message, and its fields as properties in order. Valid
    /// until the next call.
    /// </summary>
    public ReadOnlySpan<byte> FormatMarker(MarkerLine marker)
    {
        _line.ResetWrittenCount();
        _text.ResetWrittenCount();
        System.Text.Encoding.UTF8.GetBytes(marker.Message, _text);
        switch (_format)
        {
            case LineFormat.Logfmt:
                Pair("level"u8, EntryLevels.Utf8Name(marker.Level));
                Pair("category"u8, Markers.CategoryUtf8);
                Pair("msg"u8, _text.WrittenSpan);
                foreach (var field in marker.Fields)
                {
                    var name = System.Text.Encoding.UTF8.GetBytes(field.Name);
                    _scratchBuffer.ResetWrittenCount();
                    if (field.Text is { } text)
                    {
                        System.Text.Encoding.UTF8.GetBytes(text, _scratchBuffer);
                    }
                    else
                    {
                        var digits = _scratchBuffer.GetSpan(24);
                        System.Buffers.Text.Utf8Formatter.TryFormat(field.Number, digits, out var n);
                        _scratchBuffer.Advance(n);
                    }

                    Pair(name, _scratchBuffer.WrittenSpan, IsReserved(name));
                }

                break;
            case LineFormat.Text:
                _line.Write(EntryLevels.Utf8Name(marker.Level));
                _line.Write(" "u8);
                _line.Write(Markers.CategoryUtf8);
                _line.Write(": "u8);
                _line.Write(_text.WrittenSpan);
                break;
            default:
                var json = _json;
                json.Reset(_line);
                json.WriteStartObject();
                json.WriteString("level"u8, EntryLevels.Utf8Name(marker.Level));
                json.WriteString("category"u8, Markers.CategoryUtf8);
                json.WriteString("msg"u8, _text.WrittenSpan);
                foreach (var field in marker.Fields)
                {
                    json.WritePropertyName(IsReserved(System.Text.Encoding.UTF8.GetBytes(field.Name)) ? "_" + field.Name : field.Name);
                    if (field.Text is { } text)
                    {
                        json.WriteStringValue(text);
                    }
                    else
                    {
                        json.WriteNumberValue(field.Number);
                    }
                }

                json.WriteEndObject();
                json.Flush();
                break;
        }

        return _line.WrittenSpan;
    }

    private ReadOnlySpan<byte> RenderedMessage(in EntryView entry)
    {
        if (entry.Has(EntryFlags.Message) || !entry.Has(EntryFlags.Template))
        {
            return entry.Message;
        }

        _text.ResetWrittenCount();
        MessageRenderer.Render(_text, entry.Template, entry, _scratch);
        return _text.WrittenSpan;
    }

    private void WriteJson(in EntryView entry, bool includeTrace, ulong asMetadata)
    {
        var json = _json;
        json.Reset(_line);
        json.WriteStartObject();
        json.WriteString("level"u8, EntryLevels.Utf8Name(entry.Level));
        json.WriteString("category"u8, entry.Category);
        if (entry.Has(EntryFlags.Cut))
        {
            // Before the message: a line cut at the shipper's limit keeps it.
            json.WritePropertyName("cut"u8);
            var cuts = new ValueReader(entry.Cuts);
            if (!cuts.TryReadValue(out var summary) || !ValueText.WriteJson(json, ref cuts, summary))
            {
                json.WriteNullValue();
            }
        }

        json.WriteString("msg"u8, RenderedMessage(entry));
        if (entry.Has(EntryFlags.Template))
        {
            json.WriteString("template"u8, entry.Template);
        }

        if (entry.Has(EntryFlags.EventId))
        {
            json.WriteNumber("event_id"u8, entry.EventId);
        }

        if (entry.Has(EntryFlags.EventName))
        {
            json.WriteString("event_name"u8, entry.EventName);
        }

        var reader = entry.PropertyReader();
        for (var i = 0; i < entry.PropertyCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadValue(out var value))
            {
                break;
            }

            if (SentAsMetadata(asMetadata, i))
            {
                if (!reader.TrySkipItems(value))
                {
                    break;
                }

                continue;
            }

            if (IsReserved(name))
            {
                _text.ResetWrittenCount();
                _text.Write("_"u8);
                _text.Write(name);
                json.WritePropertyName(_text.WrittenSpan);
            }
            else
            {
                json.WritePropertyName(name);
            }

            ValueText.WriteJson(json, ref reader, value);
        }

        if (entry.ScopeCount > 0)
        {
            json.WriteStartArray("scopes"u8);
            var scopes = new ValueReader(entry.Scopes);
            for (var i = 0; i < entry.ScopeCount && scopes.TryReadValue(out var scope); i++)
            {
                ValueText.WriteJson(json, ref scopes, scope);
            }

            json.WriteEndArray();
        }

        if (entry.Has(EntryFlags.Exception))
        {
            json.WriteString("exception"u8, entry.Exception);
        }

        if (includeTrace && entry.Has(EntryFlags.Trace))
        {
            Span<byte> hex = stackalloc byte[48];
            ValueText.WriteHex(hex, entry.Trace);
            json.WriteString("trace_id"u8, hex[..32]);
            json.WriteString("span_id"u8, hex[32..]);
        }

        json.WriteEndObject();
        json.Flush();
    }

    private void WriteLogfmt(in EntryView entry, bool includeTrace, ulong asMetadata)
    {
        Pair("level"u8, EntryLevels.Utf8Name(entry.Level));
        Pair("category"u8, entry.Category);
        if (entry.Has(EntryFlags.Cut))
        {
            _text.ResetWrittenCount();
            CutReasons.WriteSummary(_text, entry.Cuts);
            Pair("cut"u8, _text.WrittenSpan);
        }

        Pair("msg"u8, RenderedMessage(entry));
        if (entry.Has(EntryFlags.Template)) Pair("template"u8, entry.Template);
        if (entry.Has(EntryFlags.EventId))
        {
            Span<byte> digits = stackalloc byte[12];
            System.Buffers.Text.Utf8Formatter.TryFormat(entry.EventId, digits, out var n);
            Pair("event_id"u8, digits[..n]);
        }

        if (entry.Has(EntryFlags.EventName)) Pair("event_name"u8, entry.EventName);
        var reader = entry.PropertyReader();
        for (var i = 0; i < entry.PropertyCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadValue(out var value))
            {
                break;
            }

            if (SentAsMetadata(asMetadata, i))
            {
                if (!reader.TrySkipItems(value))
                {
                    break;
                }

                continue;
            }

            _text.ResetWrittenCount();
            ValueText.WriteText(_text, ref reader, value, _scratch);
            Pair(name, _text.WrittenSpan, IsReserved(name));
        }

        if (entry.ScopeCount > 0)
        {
            _text.ResetWrittenCount();
            WriteScopesText(entry);
            Pair("scopes"u8, _text.WrittenSpan);
        }

        if (entry.Has(EntryFlags.Exception)) Pair("exception"u8, entry.Exception);
        if (includeTrace && entry.Has(EntryFlags.Trace))
        {
            Span<byte> hex = stackalloc byte[48];
            ValueText.WriteHex(hex, entry.Trace);
            Pair("trace_id"u8, hex[..32]);
            Pair("span_id"u8, hex[32..]);
        }
    }

    private void WriteText(in EntryView entry, bool includeTrace)
    {
        _line.Write(EntryLevels.Utf8Name(entry.Level));
        _line.Write(" "u8);
        _line.Write(entry.Category);
        _line.Write(": "u8);
        _line.Write(RenderedMessage(entry));
        if (entry.Has(EntryFlags.Cut))
        {
            _line.Write(" cut="u8);
            CutReasons.WriteSummary(_line, entry.Cuts);
        }

        if (includeTrace && entry.Has(EntryFlags.Trace))
        {
            Span<byte> hex = stackalloc byte[48];
            ValueText.WriteHex(hex, entry.Trace);
            _line.Write(" trace_id="u8);
            _line.Write(hex[..32]);
            _line.Write(" span_id="u8);
            _line.Write(hex[32..]);
        }

        if (entry.Has(EntryFlags.Exception))
        {
            _line.Write("\n"u8);
            _line.Write(entry.Exception);
        }
    }

    /// <summary>Scopes as MEL's console writes them: values joined by <c> => </c>.</summary>
    private void WriteScopesText(in EntryView entry)
    {
        var scopes = new ValueReader(entry.Scopes);
        for (var i = 0; i < entry.ScopeCount && scopes.TryReadValue(out var scope); i++)
        {
            if (i > 0)
            {
                _text.Write(" => "u8);
            }

            ValueText.WriteText(_text, ref scopes, scope, _scratch);
        }
    }

    private void Pair(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool prefixKey = false)
    {
        if (_line.WrittenCount > 0)
        {
            _line.Write(" "u8);
        }

        if (prefixKey)
        {
            _line.Write("_"u8);
        }

        // logfmt keys cannot hold spaces, '=' or quotes.
        foreach (var b in key)
        {
            _line.Write(b is (byte)' ' or (byte)'=' or (byte)'"' or < 0x20 ? "_"u8 : [b]);
        }

        _line.Write("="u8);
        var quote = value.IsEmpty || value.IndexOfAny(NeedsQuotes) >= 0;
        if (!quote)
        {
            _line.Write(value);
            return;
        }

        _line.Write("\""u8);
        foreach (var b in value)
        {
            switch (b)
            {
                case (byte)'"': _line.Write("\\\""u8); break;
                case (byte)'\\': _line.Write("\\\\"u8); break;
                case (byte)'\n': _line.Write("\\n"u8); break;
                case (byte)'\r': _line.Write("\\r"u8); break;
                case (byte)'\t': _line.Write("\\t"u8); break;
                default: _line.Write([b]); break;
            }
        }

        _line.Write("\""u8);
    }

    public void Dispose()
    {
        _json.Dispose();
        _scratch.Dispose();
    }

    private static bool SentAsMetadata(ulong mask, int index) => index < 64 && (mask & (1UL << index)) != 0;

    private static bool IsReserved(ReadOnlySpan<byte> name)
    {
        foreach (var reserved in ReservedJsonNames)
        {
            if (name.SequenceEqual(reserved))
            {
                return true;
            }
        }

        return false;
    }
}
