using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LogPersist.Entries;

/// <summary>Writes encoded values as JSON or as plain text (strings unquoted, numbers invariant, nested values as JSON).</summary>
internal static class ValueText
{
    public static readonly JsonWriterOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>Writes the value whose token was just read, consuming its nested items from <paramref name="reader"/>.</summary>
    public static bool WriteJson(Utf8JsonWriter writer, ref ValueReader reader, in ValueToken token, int depth = 0)
    {
        switch (token.Tag)
        {
            case ValueTag.Null: writer.WriteNullValue(); return true;
            case ValueTag.False: writer.WriteBooleanValue(false); return true;
            case ValueTag.True: writer.WriteBooleanValue(true); return true;
            case ValueTag.Integer: writer.WriteNumberValue(token.Integer); return true;
            case ValueTag.Unsigned: writer.WriteNumberValue(token.Unsigned); return true;
            case ValueTag.Double: writer.WriteNumberValue(token.Double); return true;
            case ValueTag.String: writer.WriteStringValue(token.Text); return true;
            case ValueTag.Number: writer.WriteRawValue(token.Text, skipInputValidation: false); return true;
            case ValueTag.Sequence:
                writer.WriteStartArray();
                for (var i = 0; i < token.Count; i++)
                {
                    if (depth > EntryFormat.MaxDepth || !reader.TryReadValue(out var item) || !WriteJson(writer, ref reader, item, depth + 1))
                    {
                        return false;
                    }
                }

                writer.WriteEndArray();
                return true;
            case ValueTag.Map:
                writer.WriteStartObject();
                if (!token.Text.IsEmpty)
                {
                    writer.WriteString("$type"u8, token.Text);
                }

                for (var i = 0; i < token.Count; i++)
                {
                    if (depth > EntryFormat.MaxDepth || !reader.TryReadString(out var name) || !reader.TryReadValue(out var item))
                    {
                        return false;
                    }

                    writer.WritePropertyName(name);
                    if (!WriteJson(writer, ref reader, item, depth + 1))
                    {
                        return false;
                    }
                }

                writer.WriteEndObject();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Writes the value as text: strings as they are, scalars invariant, sequences and maps as JSON.</summary>
    public static bool WriteText(IBufferWriter<byte> output, ref ValueReader reader, in ValueToken token, Utf8JsonWriter scratch)
    {
        switch (token.Tag)
        {
            case ValueTag.Null: output.Write("null"u8); return true;
            case ValueTag.False: output.Write("false"u8); return true;
            case ValueTag.True: output.Write("true"u8); return true;
            case ValueTag.String or ValueTag.Number: output.Write(token.Text); return true;
            case ValueTag.Integer: return WriteFormatted(output, token.Integer);
            case ValueTag.Unsigned: return WriteFormatted(output, token.Unsigned);
            case ValueTag.Double: return WriteFormatted(output, token.Double);
            default:
                scratch.Reset(output);
                var ok = WriteJson(scratch, ref reader, token);
                scratch.Flush();
                return ok;
        }
    }

    private static bool WriteFormatted(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
        return true;
    }

    private static bool WriteFormatted(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
        return true;
    }

    private static bool WriteFormatted(IBufferWriter<byte> output, double value)
    {
        var span = output.GetSpan(32);
        value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
        output.Advance(written);
        return true;
    }

    /// <summary>Lower-case hex, as W3C trace context writes ids.</summary>
    public static void WriteHex(Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        const string Digits = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = (byte)Digits[bytes[i] & 0xF];
        }
    }
}
