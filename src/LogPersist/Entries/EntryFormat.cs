namespace LogPersist.Entries;

/// <summary>
/// The WAL payload of an entry, version 1. Integers are little-endian; strings are a varint byte
/// count followed by UTF-8 (invalid UTF-16 was replaced by U+FFFD when encoded).
/// <code>
/// offset size
///  0     1    format (1); a reader refuses formats it does not know
///  1     8    timestamp, Unix ns
///  9     1    level (<see cref="EntryLevel"/>)
/// 10     1    flags (<see cref="EntryFlags"/>): which optional fields follow
/// 11          category, then in this order when flagged: message, template, event id (zig-zag
///             varint), event name, exception, trace id (16 bytes) + span id (8 bytes)
///        2    property count, then each: name, value
///        2    scope count, then each: value
///             when flagged <see cref="EntryFlags.Cut"/>: the cut summary, a map value of reason to count
/// </code>
/// A value is a <see cref="ValueTag"/> byte followed by its data: nothing (null, false, true), a
/// zig-zag varint (integer), a varint (unsigned), 8 bytes (double), a string (string, number text),
/// a varint count of values (sequence), or a type tag string, varint count and name/value pairs (map).
/// A count may be a varint padded with continuation bytes (written before its items are known).
/// Readers of version 1 that predate the cut summary ignore its flag and the bytes after the scopes.
/// <para>
/// Version 2 is version 1 with four fields made references into the segment's string table
/// (<see cref="Wal.SegmentStrings"/>): the category, the template, the event name and each property's
/// name. A reference is a varint: 0 is followed by the string itself (a string the table does not hold),
/// n &gt; 0 is the table's string of id n - 1. The message, the exception and every value stay inline.
/// A version 2 entry is found only in a segment of header version 2, whose table it refers to; one made
/// self-contained (moved to another segment) is written as version 1.
/// </para>
/// </summary>
internal static class EntryFormat
{
    public const byte Version1 = 1;

    /// <summary>Version 1 with references into the segment's string table.</summary>
    public const byte Version2 = 2;

    /// <summary>The newest version read.</summary>
    public const byte Newest = Version2;
    public const int FixedHeaderBytes = 11;
    public const int MaxDepth = 16;
}

[Flags]
internal enum EntryFlags : byte
{
    None = 0,
    Message = 1,
    Template = 2,
    EventId = 4,
    EventName = 8,
    Exception = 16,
    Trace = 32,

    /// <summary>Something was cut to fit the entry's limits: a cut summary follows the scopes.</summary>
    Cut = 64,
}

internal enum ValueTag : byte
{
    Null = 0,
    False = 1,
    True = 2,
    Integer = 3,
    Unsigned = 4,
    Double = 5,
    String = 6,
    Number = 7,
    Sequence = 8,
    Map = 9,
}
