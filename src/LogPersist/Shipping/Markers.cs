using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// Marker entries announce a loss in the stream itself. A refusal marker is appended to the WAL,
/// so it survives a restart and is shipped like any entry.
/// </summary>
internal static class Markers
{
    public const string Category = "LogPersist";

    public static LogEntry Refused(long timestampNs, int[] refusedByReason, string? lastReason)
    {
        var total = refusedByReason.Sum();
        var reasons = string.Join(", ", refusedByReason.Select((count, i) => (count, i)).Where(p => p.count > 0).Select(p => $"{ResponseClassifier.ReasonNames[p.i]}: {p.count}"));
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
                entry.Properties.Add(new("refused_" + ResponseClassifier.ReasonNames[i], refusedByReason[i]));
            }
        }

        return entry;
    }

    /// <summary>The entry a gap record becomes: how many entries were dropped before reaching the WAL, when, and why.</summary>
    public static LogEntry Dropped(in GapMarker gap)
    {
        var marker = new LogEntry
        {
            TimestampNs = gap.ToUnixMs * 1_000_000,
            Level = EntryLevel.Warning,
            Category = Category,
            Message = $"LogPersist dropped {gap.Records} entries ({gap.Bytes} bytes) written between {DateTimeOffset.FromUnixTimeMilliseconds(gap.FromUnixMs):O} and {DateTimeOffset.FromUnixTimeMilliseconds(gap.ToUnixMs):O}: {gap.Reason.TagValue()}",
        };
        marker.Properties.Add(new("dropped_entries", gap.Records));
        marker.Properties.Add(new("dropped_bytes", gap.Bytes));
        marker.Properties.Add(new("reason", gap.Reason.TagValue()));
        return marker;
    }

    public static LogEntry Unencodable(long timestampNs, string category, Exception error) => new()
    {
        TimestampNs = timestampNs,
        Level = EntryLevel.Warning,
        Category = Category,
        Message = $"LogPersist dropped an entry from '{category}' that could not be encoded ({error.GetType().Name})",
    };

    public static LogEntry Undecodable(long timestampNs, WalPosition position) => new()
    {
        TimestampNs = timestampNs,
        Level = EntryLevel.Warning,
        Category = Category,
        Message = $"LogPersist skipped a WAL record at {position} that is not a readable entry (written by a newer version, or damaged)",
    };
}
