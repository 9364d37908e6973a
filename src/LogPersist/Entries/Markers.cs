namespace LogPersist.Entries;

/// <summary>
/// Marker entries announce a loss in the stream itself. Refusal, unencodable and undecodable markers
/// are appended to the WAL as entries, so they survive a restart and are shipped like any entry. A
/// drop is already in the WAL as a gap record: its marker is formatted straight into a line
/// (<see cref="LineFormatter.FormatMarker"/>), the line an entry with the same fields would give.
/// </summary>
internal static class Markers
{
    public const string Category = "LogPersist";

    public static ReadOnlySpan<byte> CategoryUtf8 => "LogPersist"u8;

    /// <summary>The marker of refused entries; <paramref name="reasonNames"/> names the indexes of <paramref name="refusedByReason"/>.</summary>
    public static LogEntry Refused(long timestampNs, int[] refusedByReason, IReadOnlyList<string> reasonNames, string? lastReason)
    {
        var total = refusedByReason.Sum();
        var reasons = string.Join(", ", refusedByReason.Select((count, i) => (count, i)).Where(p => p.count > 0).Select(p => $"{reasonNames[p.i]}: {p.count}"));
        var entry = new LogEntry
        {
            TimestampNs = timestampNs,
            Level = EntryLevel.Warning,
            Category = Category,
            Message = $"Loki refused {total} entries ({reasons})" + (lastReason is null ? "" : "; last reason: " + lastReason),
        };
        entry.Properties.Add(new("refused_entries", total));
        for (var i = 0; i < refusedByReason.Length; i++)
        {
            if (refusedByReason[i] > 0)
            {
                entry.Properties.Add(new("refused_" + reasonNames[i], refusedByReason[i]));
            }
        }

        return entry;
    }

    /// <summary>
    /// The marker a gap record becomes: how many entries were dropped before reaching the WAL, when, and
    /// why (<paramref name="reason"/> is the drop reason's tag value). Its timestamp is the end of the gap.
    /// </summary>
    public static MarkerLine Dropped(long records, long bytes, long fromUnixMs, long toUnixMs, string reason) => new(
        toUnixMs * 1_000_000,
        EntryLevel.Warning,
        $"LogPersist dropped {records} entries ({bytes} bytes) written between {DateTimeOffset.FromUnixTimeMilliseconds(fromUnixMs):O} and {DateTimeOffset.FromUnixTimeMilliseconds(toUnixMs):O}: {reason}",
        [new("dropped_entries", records), new("dropped_bytes", bytes), new("reason", 0, reason)]);

    public static LogEntry Unencodable(long timestampNs, string category, Exception error) => new()
    {
        TimestampNs = timestampNs,
        Level = EntryLevel.Warning,
        Category = Category,
        Message = $"LogPersist dropped an entry from '{category}' that could not be encoded ({error.GetType().Name})",
    };

    /// <summary>The marker of a WAL record that is not a readable entry; <paramref name="position"/> as the WAL prints it.</summary>
    public static LogEntry Undecodable(long timestampNs, object position) => new()
    {
        TimestampNs = timestampNs,
        Level = EntryLevel.Warning,
        Category = Category,
        Message = $"LogPersist skipped a WAL record at {position} that is not a readable entry (written by a newer version, or damaged)",
    };
}

/// <summary>A field of a <see cref="MarkerLine"/>: a whole number, or text when <see cref="Text"/> is set.</summary>
internal readonly record struct MarkerField(string Name, long Number, string? Text = null);

/// <summary>A marker LogPersist formats itself: category <see cref="Markers.Category"/>, a message and a few fields.</summary>
internal sealed record MarkerLine(long TimestampNs, EntryLevel Level, string Message, MarkerField[] Fields);
