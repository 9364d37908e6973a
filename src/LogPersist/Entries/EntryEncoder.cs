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
    private int _scopeCountAt;
    private int _scopeCount;

    public EntryEncoder(int initialCapacity = 1024) => _buffer = new byte[initialCapacity];

    /// <summary>Encodes <paramref name="entry"/>; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(LogEntry entry)
    {
        Span<byte> trace = stackalloc byte[TraceBytes];
        if (!TryParseHex(entry.TraceId, trace[..16]) || !TryParseHex(entry.SpanId, trace[16..]))
        {
            trace = default;
        }

        BeginHeader(entry.TimestampNs, entry.Level, entry.Message, entry.Template, entry.EventId, entry.EventName, entry.Exception, trace);
        WriteString(entry.Category);
        WriteOptionalFields(entry.Message, entry.Template, entry.EventId, entry.EventName, entry.Exception, trace);
        var properties = Math.Min(entry.Properties.Count, ushort.MaxValue);
        BeginProperties(properties);
        for (var i = 0; i < properties; i++)
        {
            WriteProperty(entry.Properties[i].Key, entry.Properties[i].Value);
        }

        BeginScopes();
        foreach (var scope in entry.Scopes)
        {
            WriteScope(scope);
        }

        return End();
    }

    /// <summary>Bytes of a trace id followed by a span id, as <see cref="Begin"/> takes them.</summary>
    public const int TraceBytes = 24;

    /// <summary>
    /// Starts an entry whose category is already UTF-8. Continue with <see cref="BeginProperties"/>
    /// and that many <see cref="WriteProperty"/> calls, then <see cref="BeginScopes"/>, any number of
    /// <see cref="WriteScope"/> calls, and <see cref="End"/>. <paramref name="trace"/> is empty, or a
    /// 16-byte trace id followed by an 8-byte span id.
    /// </summary>
    public void Begin(long timestampNs, EntryLevel level, ReadOnlySpan<byte> categoryUtf8, string? message, string? template, int eventId, string? eventName, string? exception, ReadOnlySpan<byte> trace)
    {
        BeginHeader(timestampNs, level, message, template, eventId, eventName, exception, trace);
        WriteVarint((ulong)categoryUtf8.Length);
        categoryUtf8.CopyTo(Reserve(categoryUtf8.Length));
        WriteOptionalFields(message, template, eventId, eventName, exception, trace);
    }

    /// <summary>Announces <paramref name="count"/> properties (at most 65,535; callers stop there).</summary>
    public void BeginProperties(int count) =>
        BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), (ushort)Math.Min(count, ushort.MaxValue));

    public void WriteProperty(string name, object? value)
    {
        WriteString(name);
        WriteValue(value, 0);
    }

    public void BeginScopes()
    {
        _scopeCountAt = _length;
        _scopeCount = 0;
        Reserve(2);
    }

    /// <summary>
    /// Adds a scope. A key/value-list scope (<c>BeginScope("Order {Id}", id)</c>, a dictionary) becomes a
    /// map of its pairs without the <c>{OriginalFormat}</c> template; one holding only the template becomes its text.
    /// </summary>
    public void WriteScope(object? value)
    {
        if (_scopeCount == ushort.MaxValue)
        {
            return;
        }

        _scopeCount++;
        if (value is IReadOnlyList<KeyValuePair<string, object?>> pairs)
        {
            var count = 0;
            for (var i = 0; i < pairs.Count; i++)
            {
                count += pairs[i].Key == OriginalFormat ? 0 : 1;
            }

            if (count == 0)
            {
                WriteValue(SafeToString(value), 0);
                return;
            }

            WriteTag(ValueTag.Map);
            WriteString("");
            WriteVarint((ulong)count);
            for (var i = 0; i < pairs.Count; i++)
            {
                if (pairs[i].Key != OriginalFormat)
                {
                    WriteString(pairs[i].Key);
                    WriteValue(pairs[i].Value, 1);
                }
            }

            return;
        }

        WriteValue(value, 0);
    }

    /// <summary>Finishes the entry; the span is valid until the next <see cref="Begin"/> or <see cref="Encode"/>.</summary>
    public ReadOnlySpan<byte> End()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(_scopeCountAt), (ushort)_scopeCount);
        return _buffer.AsSpan(0, _length);
    }

    /// <summary>Gives up a buffer that one large entry grew, so a thread-bound encoder does not keep it.</summary>
    public void TrimExcess(int maxRetainedBytes)
    {
        if (_buffer.Length > maxRetainedBytes)
        {
            _buffer = new byte[Math.Min(maxRetainedBytes, 1024)];
        }
    }

    /// <summary>The key under which Microsoft.Extensions.Logging passes the message template in a state's pairs.</summary>
    public const string OriginalFormat = "{OriginalFormat}";

    private void BeginHeader(long timestampNs, EntryLevel level, string? message, string? template, int eventId, string? eventName, string? exception, ReadOnlySpan<byte> trace)
    {
        _length = 0;
        var flags = EntryFlags.None;
        if (message is not null) flags |= EntryFlags.Message;
        if (template is not null) flags |= EntryFlags.Template;
        if (eventId != 0) flags |= EntryFlags.EventId;
        if (eventName is not null) flags |= EntryFlags.EventName;
        if (exception is not null) flags |= EntryFlags.Exception;
        if (trace.Length == TraceBytes) flags |= EntryFlags.Trace;

        var header = Reserve(EntryFormat.FixedHeaderBytes);
        header[0] = EntryFormat.Version1;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], timestampNs);
        header[9] = (byte)level;
        header[10] = (byte)flags;
    }

    private void WriteOptionalFields(string? message, string? template, int eventId, string? eventName, string? exception, ReadOnlySpan<byte> trace)
    {
        if (message is not null) WriteString(message);
        if (template is not null) WriteString(template);
        if (eventId != 0) WriteVarint(ZigZag(eventId));
        if (eventName is not null) WriteString(eventName);
        if (exception is not null) WriteString(exception);
        if (trace.Length == TraceBytes) trace.CopyTo(Reserve(TraceBytes));
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
            case int i:
                WriteTag(ValueTag.Integer);
                WriteVarint(ZigZag(i));
                return;
            case long or short or sbyte:
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
    internal static string SafeToString(object? value)
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
