using System.Diagnostics;
using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>What the recovery scan found in the segments left by earlier runs.</summary>
internal sealed record RecoveryReport(
    int Segments,
    long Records,
    long GapMarkers,
    long DamagedRanges,
    long DamagedBytes,
    int DamagedHeaders,
    IReadOnlyList<DamagedRange> Damage,
    TimeSpan Elapsed);

/// <summary>
/// Scans the segments of earlier runs from the checkpoint on: counts the records still to ship and
/// every torn or corrupt range (which readers skip the same way). It runs in the background after the
/// writer has opened its new segment, so a large backlog never delays the application's first append,
/// and after the evictions that bring a full disk cap back under it; a segment evicted or shipped
/// meanwhile is skipped.
/// </summary>
internal static class Recovery
{
    private const int MaxDamageListed = 1000;

    public static RecoveryReport Scan(IFileSystem fileSystem, string directory, IReadOnlyList<long> segments, WalPosition checkpoint, WalMetrics? metrics)
    {
        var stopwatch = Stopwatch.StartNew();
        long records = 0, gaps = 0, damagedRanges = 0, damagedBytes = 0;
        int scanned = 0, damagedHeaders = 0;
        var damage = new List<DamagedRange>();
        foreach (var sequence in segments)
        {
            if (sequence < checkpoint.Segment)
            {
                continue;
            }

            scanned++;
            var path = fileSystem.Path.Combine(directory, SegmentNames.FileName(sequence));
            using var map = MappedSegment.TryOpenReadOnly(sequence, path, out _, out var unusable);
            if (map is null)
            {
                // An unreadable segment is reported by the reader that waits on it, not counted as damage.
                if (unusable is not null)
                {
                    Report(new DamagedRange(sequence, 0, SegmentFile.Length(path), DamageKind.Torn));
                    damagedHeaders++;
                }

                // Otherwise it was shipped or evicted while the scan ran: nothing is damaged.
                continue;
            }

            var bytes = map.Bytes;
            if (SegmentHeader.NewerVersion(bytes) is { } version)
            {
                // Written by a later format: not this version's to count, let alone call damage. Readers stop before it.
                LogPersistEventSource.Log.NewerFormatKept(directory, new NewerFormat(new WalPosition(sequence, 0), "segment " + sequence, version, SegmentHeader.CurrentVersion).ToString());
                break;
            }

            if (!SegmentHeader.TryRead(bytes, out var header) || header.Sequence != sequence)
            {
                // The records carry their own checksums; a bad header costs none of them.
                damagedHeaders++;
            }

            var offset = sequence == checkpoint.Segment ? SegmentScanner.ClampOffset(checkpoint.Offset) : SegmentScanner.FirstRecordOffset;
            var budget = ChecksumBudget.For(bytes.Length, offset);
            while (true)
            {
                var step = SegmentScanner.Step(bytes, sequence, offset, live: false, ref budget);
                if (step.Outcome == ScanOutcome.Record)
                {
                    if (step.Record.Kind == RecordKind.Data)
                    {
                        records++;
                    }
                    else if (step.Record.Kind == RecordKind.Gap)
                    {
                        gaps++;
                    }
                }
                else if (step.Outcome == ScanOutcome.Damage)
                {
                    Report(new DamagedRange(sequence, step.Offset, step.Length, step.Damage));
                }
                else
                {
                    break;
                }

                offset = step.Next;
            }
        }

        var report = new RecoveryReport(scanned, records, gaps, damagedRanges, damagedBytes, damagedHeaders, damage, stopwatch.Elapsed);
        LogPersistEventSource.Log.RecoveryCompleted(directory, scanned, records, damagedRanges, damagedBytes, damagedHeaders, stopwatch.Elapsed.TotalMilliseconds);
        return report;

        void Report(DamagedRange range)
        {
            damagedRanges++;
            damagedBytes += range.Length;
            if (damage.Count < MaxDamageListed)
            {
                damage.Add(range);
            }

            metrics?.DamageFound(range.Kind);
            LogPersistEventSource.Log.DamagedRangeSkipped(directory, range.Segment, range.Offset, range.Length, range.Kind == DamageKind.Torn ? "torn" : "corrupt");
        }
    }
}
