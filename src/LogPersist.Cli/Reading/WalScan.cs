using LogPersist.Entries;
using LogPersist.Wal;

namespace LogPersist.Cli.Reading;

/// <summary>One segment as a scan saw it: the inspector's findings plus the oldest and newest entry timestamps in it.</summary>
internal sealed record SegmentSummary(SegmentInspection Inspection, bool Live, long? FirstTimestampNs, long? LastTimestampNs);

/// <summary>Gap records of one drop reason: how many markers, and the entries and bytes they announce.</summary>
internal sealed class DropTally
{
    public long Markers { get; set; }

    public long Entries { get; set; }

    public long Bytes { get; set; }
}

/// <summary>
/// One read-only pass over every segment of a WAL directory, checkpoint included or not: counts,
/// time spans, what is still to ship, drops and damage. <c>inspect</c> and <c>verify</c> print it.
/// </summary>
internal sealed class WalScan
{
    private static readonly byte[] MarkerCategory = "LogPersist"u8.ToArray();

    public required WalDirectory Wal { get; init; }

    public List<SegmentSummary> Segments { get; } = [];

    /// <summary>Segments listed when the scan started that were deleted before it read them (shipped meanwhile).</summary>
    public List<long> Vanished { get; } = [];

    public long Records { get; private set; }

    public long GapRecords { get; private set; }

    /// <summary>Data entries written by LogPersist itself (Loki refusals, unencodable entries, undecodable records).</summary>
    public long MarkerEntries { get; private set; }

    public long UndecodableRecords { get; private set; }

    /// <summary>Data and gap records at or after the checkpoint: each becomes one entry in Loki.</summary>
    public long UnshippedEntries { get; private set; }

    /// <summary>Payload (encoded entry) bytes of <see cref="UnshippedEntries"/>.</summary>
    public long UnshippedBytes { get; private set; }

    public long? OldestUnshippedNs { get; private set; }

    public SortedDictionary<WalDropReason, DropTally> Drops { get; } = [];

    public IEnumerable<InspectedDamage> Damage => Segments.SelectMany(s => s.Inspection.Damage);

    public IEnumerable<SegmentSummary> HeaderProblems => Segments.Where(s => s.Inspection.Header != SegmentHeaderState.Valid);

    public IEnumerable<SegmentSummary> InProgress => Segments.Where(s => s.Inspection.InProgressFrom is not null);

    public bool Clean => !Damage.Any() && !HeaderProblems.Any();

    public static WalScan Run(WalDirectory wal, CancellationToken cancellation)
    {
        var scan = new WalScan { Wal = wal };
        foreach (var sequence in wal.Segments)
        {
            cancellation.ThrowIfCancellationRequested();
            scan.ScanSegment(sequence);
        }

        return scan;
    }

    private void ScanSegment(long sequence)
    {
        long? first = null, last = null;
        var checkpoint = Wal.Checkpoint;
        var inspection = SegmentInspector.Inspect(Wal.Path, sequence, Wal.IsLive(sequence), visitor: Visit);
        if (inspection.Vanished)
        {
            Vanished.Add(sequence);
            return;
        }

        Segments.Add(new SegmentSummary(inspection, Wal.IsLive(sequence), first, last));

        void Visit(RecordKind kind, WalPosition position, ReadOnlySpan<byte> payload, SegmentStrings strings)
        {
            long? timestamp = null;
            if (kind == RecordKind.Data)
            {
                Records++;
                if (EntryView.TryDecode(payload, strings, out var entry))
                {
                    timestamp = entry.TimestampNs;
                    if (entry.Category.SequenceEqual(MarkerCategory))
                    {
                        MarkerEntries++;
                    }
                }
                else
                {
                    UndecodableRecords++;
                }
            }
            else if (kind == RecordKind.Gap)
            {
                GapRecords++;
                if (GapMarker.TryRead(payload, out var gap))
                {
                    if (!Drops.TryGetValue(gap.Reason, out var tally))
                    {
                        Drops[gap.Reason] = tally = new DropTally();
                    }

                    tally.Markers++;
                    tally.Entries += gap.Records;
                    tally.Bytes += gap.Bytes;
                    timestamp = gap.ToUnixMs * 1_000_000;
                }
                else
                {
                    UndecodableRecords++;
                }
            }

            if (timestamp is { } ts)
            {
                first = first is null ? ts : Math.Min(first.Value, ts);
                last = last is null ? ts : Math.Max(last.Value, ts);
            }

            if (position >= checkpoint)
            {
                UnshippedEntries++;
                UnshippedBytes += payload.Length;
                if (timestamp is { } t && (OldestUnshippedNs is null || t < OldestUnshippedNs))
                {
                    OldestUnshippedNs = t;
                }
            }
        }
    }
}
