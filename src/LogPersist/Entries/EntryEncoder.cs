using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Text;

namespace LogPersist.Entries;

/// <summary>
/// Encodes entries into the WAL payload format (<see cref="EntryFormat"/>). One instance reuses one
/// buffer; it is not thread-safe. Never throws on odd input: unusual values become strings, invalid
/// UTF-16 becomes U+FFFD, nesting deeper than <see cref="EntryFormat.MaxDepth"/> becomes a string.
/// </summary>
internal sealed class EntryEncoder
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private byte[] _buffer;
    private int _length;

    public EntryEncoder(int initialCapacity = 1024) => _buffer = new byte[initialCapacity];

    /// <summary>Encodes <paramref name="entry"/>; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(LogEntry entry)
    {
        _length = 0;
        var flags = EntryFlags.None;
        if (entry.Message is not null) flags |= EntryFlags.Message;
        if (entry.Template is not null) flags |= EntryFlags.Template;
        if (entry.EventId != 0) flags |= EntryFlags.EventId;
        if (entry.EventName is not null) flags |= EntryFlags.EventName;
        if (entry.Exception is not null) flags |= EntryFlags.Exception;
        Span<byte> trace = stackalloc byte[24];
        if (TryParseHex(entry.TraceId, trace[..16]) && TryParseHex(entry.SpanId, trace[16..])) flags |= EntryFlags.Trace;

        var header = Reserve(EntryFormat.FixedHeaderBytes);
        header[0] = EntryFormat.Version1;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], entry.TimestampNs);
        header[9] = (byte)entry.Level;
        header[10] = (byte)flags;
        WriteString(entry.Category);
        if (entry.Message is not null) WriteString(entry.Message);
        if (entry.Template is not null) WriteString(entry.Template);
        if (entry.EventId != 0) WriteVarint(ZigZag(entry.EventId));
        if (entry.EventName is not null) WriteString(entry.EventName);
        if (entry.Exception is not null) WriteString(entry.Exception);
        if ((flags & EntryFlags.Trace) != 0) trace.CopyTo(Reserve(24));

        var properties = Math.Min(entry.Properties.Count, ushort.MaxValue);
        BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), (ushort)properties);
        for (var i = 0; i < properties; i++)
        {
            WriteString(entry.Properties[i].Key);
            WriteValue(entry.Properties[i].Value, 0);
        }

        var scopes = Math.Min(entry.Scopes.Count, ushort.MaxValue);
        BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), (ushort)scopes);
        for (var i = 0; i < scopes; i++)
        {
            WriteValue(entry.Scopes[i], 0);
        }

        return _buffer.AsSpan(0, _length);
    }

    private void WriteValue(object? value, int depth)
    {
        switch (value)
        {
            case null:
                WriteTag(ValueTag.Null);
                return;
            case bool b:
                WriteTag(b ? ValueTag.True : ValueTag.False);
                return;
            case string s:
                WriteTag(ValueTag.String);
                WriteString(s);
                return;
            case int or long or short or sbyte:
                WriteTag(ValueTag.Integer);
                WriteVarint(ZigZag(Convert.ToInt64(value, CultureInfo.InvariantCulture)));
                return;
            case uint or ulong or ushort or byte:
                WriteTag(ValueTag.Unsigned);
                WriteVarint(Convert.ToUInt64(value, CultureInfo.InvariantCulture));
                return;
            case double or float:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(d))
                {
                    WriteTag(ValueTag.Double);
                    BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), d);
                }
                else
                {
                    // JSON has no NaN or infinity; keep them readable as text.
                    WriteTag(ValueTag.String);
                    WriteString(d.ToString(CultureInfo.InvariantCulture));
                }

                return;
            case decimal m:
                WriteTag(ValueTag.Number);
                WriteString(m.ToString(CultureInfo.InvariantCulture));
                return;
        }

        if (depth >= EntryFormat.MaxDepth)
        {
            WriteTag(ValueTag.String);
            WriteString(SafeToString(value));
            return;
        }

        switch (value)
        {
            case LogStructure structure:
                WriteMap(structure.TypeTag, structure.Properties, depth);
                return;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                WriteMap(null, pairs as IReadOnlyCollection<KeyValuePair<string, object?>> ?? pairs.ToList(), depth);
                return;
            case IDictionary dictionary:
                var converted = new List<KeyValuePair<string, object?>>(dictionary.Count);
                foreach (DictionaryEntry item in dictionary)
                {
                    converted.Add(new(SafeToString(item.Key), item.Value));
                }

                WriteMap(null, converted, depth);
                return;
            case IEnumerable sequence and not IFormattable:
                var items = sequence.Cast<object?>().ToList();
                WriteTag(ValueTag.Sequence);
                WriteVarint((ulong)items.Count);
                foreach (var item in items)
                {
                    WriteValue(item, depth + 1);
                }

                return;
            default:
                WriteTag(ValueTag.String);
                WriteString(SafeToString(value));
                return;
        }
    }

    private void WriteMap(string? typeTag, IReadOnlyCollection<KeyValuePair<string, object?>> pairs, int depth)
    {
        WriteTag(ValueTag.Map);
        WriteString(typeTag ?? "");
        WriteVarint((ulong)pairs.Count);
        foreach (var pair in pairs)
        {
            WriteString(pair.Key);
            WriteValue(pair.Value, depth + 1);
        }
    }

    /// <summary>ToString that cannot throw into the caller: a throwing ToString becomes its exception's type name.</summary>
    private static string SafeToString(object? value)
    {
        try
        {
            return (value is IFormattable formattable
                ? formattable.ToString(value is DateTime or DateTimeOffset ? "O" : null, CultureInfo.InvariantCulture)
                : value?.ToString()) ?? "";
        }
        catch (Exception e)
        {
            return "<" + e.GetType().Name + " from ToString>";
        }
    }

    private void WriteTag(ValueTag tag) => Reserve(1)[0] = (byte)tag;

    private void WriteString(string value)
    {
        var max = Utf8.GetMaxByteCount(value.Length);
        Span<byte> prefix = stackalloc byte[5];
        if (max <= 1024)
        {
            EnsureCapacity(5 + max);
            var written = Utf8.GetBytes(value, _buffer.AsSpan(_length + 5));
            var prefixLength = VarintLength((ulong)written);
            // Shift the bytes back over the unused part of the prefix space.
            _buffer.AsSpan(_length + 5, written).CopyTo(_buffer.AsSpan(_length + prefixLength));
            WriteVarintTo(_buffer.AsSpan(_length), (ulong)written);
            _length += prefixLength + written;
        }
        else
        {
            var count = Utf8.GetByteCount(value);
            WriteVarint((ulong)count);
            Utf8.GetBytes(value, Reserve(count));
        }
    }

    private void WriteVarint(ulong value)
    {
        EnsureCapacity(10);
        _length += WriteVarintTo(_buffer.AsSpan(_length), value);
    }

    private static int WriteVarintTo(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    private static int VarintLength(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    internal static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private Span<byte> Reserve(int count)
    {
        EnsureCapacity(count);
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    private void EnsureCapacity(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_length + count, _buffer.Length * 2));
        }
    }

    private static bool TryParseHex(string? hex, Span<byte> destination)
    {
        if (hex is null || hex.Length != destination.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < destination.Length; i++)
        {
            var high = HexDigit(hex[2 * i]);
            var low = HexDigit(hex[(2 * i) + 1]);
            if ((high | low) < 0)
            {
                return false;
            }

            destination[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
