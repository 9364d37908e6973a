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

    public bool Has(EntryFlags flag) => (Flags & flag) != 0;

    /// <summary>Decodes and validates a payload. False for an unknown format or malformed bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out EntryView view)
    {
        view = default;
        if (payload.Length < EntryFormat.FixedHeaderBytes || payload[0] != EntryFormat.Version1)
        {
            return false;
        }

        var level = (EntryLevel)payload[9];
        var flags = (EntryFlags)payload[10];
        if (level > EntryLevel.Critical)
        {
            return false;
        }

        var reader = new ValueReader(payload[EntryFormat.FixedHeaderBytes..]);
        ReadOnlySpan<byte> message = default, template = default, eventName = default, exception = default, trace = default;
        var eventId = 0;
        if (!reader.TryReadString(out var category)
            || ((flags & EntryFlags.Message) != 0 && !reader.TryReadString(out message))
            || ((flags & EntryFlags.Template) != 0 && !reader.TryReadString(out template)))
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

        if (((flags & EntryFlags.EventName) != 0 && !reader.TryReadString(out eventName))
            || ((flags & EntryFlags.Exception) != 0 && !reader.TryReadString(out exception))
            || ((flags & EntryFlags.Trace) != 0 && !reader.TryReadBytes(24, out trace))
            || !reader.TryReadUInt16(out var propertyCount))
        {
            return false;
        }

        var propertiesStart = reader.Position;
        for (var i = 0; i < propertyCount; i++)
        {
            if (!reader.TryReadString(out _) || !reader.TrySkipValue())
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
        };
        return true;
    }
}
