namespace LogPersist.Entries;

/// <summary>
/// One log entry with everything a line or a label can later be made from. Property and scope values
/// are null, <see cref="bool"/>, integers, floating-point numbers, <see cref="decimal"/>, strings,
/// <see cref="LogStructure"/>, dictionaries with string keys, sequences, or anything else (stored as
/// its invariant string form).
/// </summary>
internal sealed class LogEntry
{
    /// <summary>Unix time in nanoseconds, fixed when the entry is created so every resend is identical.</summary>
    public long TimestampNs { get; set; }

    public EntryLevel Level { get; set; } = EntryLevel.Information;

    public string Category { get; set; } = "";

    /// <summary>The rendered message; when null, it is rendered from <see cref="Template"/> and the properties.</summary>
    public string? Message { get; set; }

    public string? Template { get; set; }

    public int EventId { get; set; }

    public string? EventName { get; set; }

    public string? Exception { get; set; }

    /// <summary>W3C trace id as 32 lower-case hex characters, or null.</summary>
    public string? TraceId { get; set; }

    /// <summary>W3C span id as 16 lower-case hex characters, or null.</summary>
    public string? SpanId { get; set; }

    public List<KeyValuePair<string, object?>> Properties { get; } = [];

    public List<object?> Scopes { get; } = [];

    /// <summary>
    /// Unix time in nanoseconds from <paramref name="time"/>. For <see cref="TimeProvider.System"/> it
    /// comes from <see cref="WallClock.System"/> (a monotonic reading anchored to the wall clock once a
    /// second, never going backwards); any other provider is read as it is.
    /// </summary>
    public static long NowNs(TimeProvider time) =>
        ReferenceEquals(time, TimeProvider.System)
            ? WallClock.System.NowNs()
            : (time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}

/// <summary>A structured value: named properties with an optional type tag (Serilog's <c>$type</c>).</summary>
internal sealed record LogStructure(string? TypeTag, IReadOnlyList<KeyValuePair<string, object?>> Properties);
