using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>What an evicted segment held that was not shipped yet: counted as lost and announced by a gap marker.</summary>
internal readonly record struct Eviction(long Records, long Bytes, long FromUnixMs);

/// <summary>
/// Which segments leave a WAL directory, and when: a shipped one once the checkpoint has passed it
/// (<see cref="DeleteShippedBefore"/>), and the oldest one, shipped or not, when the disk cap or a full
/// disk needs its room (<see cref="TryEvictOldest"/>). Both keep the <see cref="SegmentCatalog"/> the
/// cap is measured by in step with the files.
/// </summary>
internal sealed class Retention(IFileSystem fileSystem, string directory, SegmentCatalog catalog)
{
    /// <summary>Deletes the segments before <paramref name="sequence"/>; one that cannot be deleted is left for the next call. Never throws.</summary>
    public void DeleteShippedBefore(long sequence)
    {
        foreach (var candidate in catalog.Sequences())
        {
            if (candidate >= sequence)
            {
                break;
            }

            try
            {
                fileSystem.File.Delete(fileSystem.Path.Combine(directory, SegmentNames.FileName(candidate)));
                catalog.Remove(candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next acknowledgement to retry; the disk cap still counts it.
                LogPersistEventSource.Log.OperationFailed(directory, "deleting shipped segment " + candidate, e);
            }
        }
    }

    /// <summary>
    /// Deletes the oldest segment to make room. False when there is none or it cannot be deleted. The
    /// records after <paramref name="shipped"/> in it are <paramref name="lost"/> (null when there were none,
    /// or when retention had deleted it meanwhile, shipped); gap markers it held after <paramref name="shipped"/> are added to
    /// <paramref name="carried"/>, so that the stream never forgets an earlier loss. A segment wholly
    /// before <paramref name="shipped"/> is deleted without being read.
    /// </summary>
    public bool TryEvictOldest(WalPosition shipped, List<GapMarker> carried, out Eviction? lost)
    {
        lost = null;
        if (!catalog.TryGetOldest(out var oldest))
        {
            return false;
        }

        var path = fileSystem.Path.Combine(directory, SegmentNames.FileName(oldest));
        long records = 0, bytes = 0, fromUnixMs = 0;

        // A segment wholly before the checkpoint was shipped, gap markers and all (its deletion behind the
        // checkpoint failed): nothing in it is lost or to carry, so it is neither mapped nor counted.
        using (var map = oldest < shipped.Segment ? null : MappedSegment.TryOpenReadOnly(oldest, path))
        {
            if (map is not null)
            {
                // Records before the checkpoint were shipped already; only the rest is lost.
                var from = shipped.Segment == oldest ? (int)Math.Min(shipped.Offset, map.Length) : 0;
                (records, bytes) = SegmentScanner.CountRecordsQuickly(map.Bytes, from, carried);
                if (SegmentHeader.TryRead(map.Bytes, out var header))
                {
                    fromUnixMs = header.CreatedUnixMs;
                }
            }
        }

        try
        {
            fileSystem.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(directory, "evicting segment " + oldest, e);
            return false;
        }

        if (catalog.Remove(oldest))
        {
            // Nothing unshipped in it (wholly or entirely behind the checkpoint): no loss to count or mark.
            lost = records == 0 && bytes == 0 ? null : new Eviction(records, bytes, fromUnixMs);
        }
        else
        {
            // Shipped and deleted by retention while we looked at it: nothing was lost.
            carried.Clear();
        }

        return true;
    }
}
