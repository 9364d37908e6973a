using System.Buffers.Binary;

namespace LogPersist.Entries;

/// <summary>
/// A decoded entry that points into its WAL payload: nothing is copied or allocated. Valid as long
/// as the payload is.
/// </summary>
internal readonly ref struct EntryView
{
    public long TimestampNs { get; init; }

    public EntryLevel Level { get; init; }

    public EntryFlags Flags { get; init; }

    public ReadOnlySpan<byte> Category { get; init; }

    public ReadOnlySpan<byte> Message { get; init; }

    public ReadOnlySpan<byte> Template { get; init; }

    public int EventId { get; init; }

    public ReadOnlySpan<byte> EventName { get; init; }

    public ReadOnlySpan<byte> Exception { get; init; }

    /// <summary>16 bytes of trace id then 8 bytes of span id, or empty.</summary>
    public ReadOnlySpan<byte> Trace { get; init; }

    public int PropertyCount { get; init; }

    /// <summary>The encoded properties: <see cref="PropertyCount"/> name/value pairs.</summary>
    public ReadOnlySpan<byte> Properties { get; init; }

    public int ScopeCount { get; init; }

    /// <summary>The encoded scopes: <see cref="ScopeCount"/> values.</summary>
    public ReadOnlySpan<byte> Scopes { get; init; }

    /// <summary>What was cut to fit the entry's limits, a map value of reason to count; empty when nothing was.</summary>
    public ReadOnlySpan<byte> Cuts { get; init; }

    /// <summary>The payload's format: <see cref="EntryFormat.Version1"/> or <see cref="EntryFormat.Version2"/>.</summary>
    public byte Format { get; init; }

    /// <summary>The string table of the entry's segment, which the property names refer to in format 2.</summary>
    public Wal.SegmentStrings? Strings { get; init; }

    public bool Has(EntryFlags flag) => (Flags & flag) != 0;

    /// <summary>A reader over <see cref="Properties"/>: read each name with <see cref="ValueReader.TryReadName"/>, then its value.</summary>
    public ValueReader PropertyReader() => new(Properties, Format == EntryFormat.Version2, Strings);

    /// <summary>Decodes and validates a self-contained payload (format 1, or 2 without references). False for an unknown format or malformed bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out EntryView view) => TryDecode(payload, null, out view);

    /// <summary>
    /// Decodes and validates a payload read from a segment whose string table is <paramref name="strings"/>.
    /// False for an unknown format, malformed bytes, or a reference without a table.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, Wal.SegmentStrings? strings, out EntryView view)
    {
        view = default;
        if (payload.Length < EntryFormat.FixedHeaderBytes || payload[0] is not (EntryFormat.Version1 or EntryFormat.Version2))
        {
            return false;
        }

        var references = payload[0] == EntryFormat.Version2;

        var level = (EntryLevel)payload[9];
        var flags = (EntryFlags)payload[10];
        if (level > EntryLevel.Critical)
        {
            return false;
        }

        var reader = new ValueReader(payload[EntryFormat.FixedHeaderBytes..]);
        ReadOnlySpan<byte> message = default, template = default, eventName = default, exception = default, trace = default;
        var eventId = 0;
        ReadOnlySpan<byte> category;
        if (!(references ? reader.TryReadReference(strings, out category) : reader.TryReadString(out category))
            || ((flags & EntryFlags.Message) != 0 && !reader.TryReadString(out message))
            || ((flags & EntryFlags.Template) != 0 && !(references ? reader.TryReadReference(strings, out template) : reader.TryReadString(out template))))
        {
            return false;
        }

        if ((flags & EntryFlags.EventId) != 0)
        {
            if (!reader.TryReadVarint(out var zigzag))
            {
                return false;
            }

            eventId = (int)((long)(zigzag >> 1) ^ -(long)(zigzag & 1));
        }

        if (((flags & EntryFlags.EventName) != 0 && !(references ? reader.TryReadReference(strings, out eventName) : reader.TryReadString(out eventName)))
            || ((flags & EntryFlags.Exception) != 0 && !reader.TryReadString(out exception))
            || ((flags & EntryFlags.Trace) != 0 && !reader.TryReadBytes(24, out trace))
            || !reader.TryReadUInt16(out var propertyCount))
        {
            return false;
        }

        var propertiesStart = reader.Position;
        for (var i = 0; i < propertyCount; i++)
        {
            if (!(references ? reader.TryReadReference(strings, out _) : reader.TryReadString(out _)) || !reader.TrySkipValue())
            {
                return false;
            }
        }

        var propertiesEnd = reader.Position;
        if (!reader.TryReadUInt16(out var scopeCount))
        {
            return false;
        }

        var scopesStart = reader.Position;
        for (var i = 0; i < scopeCount; i++)
        {
            if (!reader.TrySkipValue())
            {
                return false;
            }
        }

        var scopesEnd = reader.Position;
        if ((flags & EntryFlags.Cut) != 0 && !reader.TrySkipValue())
        {
            return false;
        }

        var body = payload[EntryFormat.FixedHeaderBytes..];
        view = new EntryView
        {
            TimestampNs = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]),
            Level = level,
            Flags = flags,
            Category = category,
            Message = message,
            Template = template,
            EventId = eventId,
            EventName = eventName,
            Exception = exception,
            Trace = trace,
            PropertyCount = propertyCount,
            Properties = body[propertiesStart..propertiesEnd],
            ScopeCount = scopeCount,
            Scopes = body[scopesStart..scopesEnd],
            Cuts = body[scopesEnd..reader.Position],
            Format = payload[0],
            Strings = strings,
        };
        return true;
    }

    /// <summary>
    /// Writes this entry as a self-contained format 1 payload: every string it refers to in its segment's
    /// table written out, everything else copied as it is. For an entry that moves to another segment.
    /// </summary>
    public void WriteSelfContained(PayloadWriter output)
    {
        output.Reset();
        var header = output.Reserve(EntryFormat.FixedHeaderBytes);
        header[0] = EntryFormat.Version1;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], TimestampNs);
        header[9] = (byte)Level;
        header[10] = (byte)Flags;
        output.WriteUtf8(Category, int.MaxValue);
        if (Has(EntryFlags.Message)) output.WriteUtf8(Message, int.MaxValue);
        if (Has(EntryFlags.Template)) output.WriteUtf8(Template, int.MaxValue);
        if (Has(EntryFlags.EventId)) output.WriteVarint(ValueEncoder.ZigZag(EventId));
        if (Has(EntryFlags.EventName)) output.WriteUtf8(EventName, int.MaxValue);
        if (Has(EntryFlags.Exception)) output.WriteUtf8(Exception, int.MaxValue);
        if (Has(EntryFlags.Trace)) Trace.CopyTo(output.Reserve(Trace.Length));
        output.WriteUInt16(PropertyCount);
        var reader = PropertyReader();
        for (var i = 0; i < PropertyCount; i++)
        {
            reader.TryReadName(out var name);
            var start = reader.Position;
            reader.TrySkipValue();
            output.WriteUtf8(name, int.MaxValue);
            Properties[start..reader.Position].CopyTo(output.Reserve(reader.Position - start));
        }

        output.WriteUInt16(ScopeCount);
        Scopes.CopyTo(output.Reserve(Scopes.Length));
        Cuts.CopyTo(output.Reserve(Cuts.Length));
    }
}
