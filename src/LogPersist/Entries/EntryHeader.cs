namespace LogPersist.Entries;

/// <summary>
/// What starts an entry for <see cref="EntryEncoder.Begin"/>: the timestamp, level and category every
/// entry has, and the fields most producers leave empty (an unset one is not written). Spans, so
/// that a category already in UTF-8 and a trace on the stack are not copied to get here.
/// </summary>
internal readonly ref struct EntryHeader
{
    /// <summary>Nanoseconds since the Unix epoch.</summary>
    public required long TimestampNs { get; init; }

    public required EntryLevel Level { get; init; }

    /// <summary>The category (logger name, source context), in UTF-8.</summary>
    public required ReadOnlySpan<byte> CategoryUtf8 { get; init; }

    /// <summary>The category as a string too, when the producer has it: it lets the category go in the segment's string table.</summary>
    public string? Category { get; init; }

    /// <summary>The rendered message, when the template alone does not give it.</summary>
    public string? Message { get; init; }

    public string? Template { get; init; }

    /// <summary>Zero is no event id.</summary>
    public int EventId { get; init; }

    public string? EventName { get; init; }

    /// <summary>The exception as text.</summary>
    public string? Exception { get; init; }

    /// <summary>Empty, or a 16-byte trace id followed by an 8-byte span id (<see cref="EntryEncoder.TraceBytes"/>).</summary>
    public ReadOnlySpan<byte> Trace { get; init; }
}
