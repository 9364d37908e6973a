using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// The entries read from one WAL range [<see cref="Start"/>, <see cref="End"/>), grouped by stream.
/// The range is acknowledged as a whole once every entry in it was accepted or finally refused.
/// Its lines live in <see cref="Lines"/> and its entries in pooled arrays: <see cref="Release"/> hands
/// them back once no request of the batch (a resend, a split half) can be encoded any more.
/// </summary>
internal sealed class Batch
{
    public required WalPosition Start { get; init; }

    public required WalPosition End { get; init; }

    /// <summary>The settings the batch was built with, so that a rebuild of its range builds it the same way.</summary>
    public (ShipperOptions Options, StreamResolver Streams)? BuiltWith { get; set; }

    public required List<PushStream> Streams { get; init; }

    /// <summary>Where the entries' lines live; empty for a batch built without lines.</summary>
    public LineArena Lines { get; init; } = new();

    public int Entries { get; init; }

    /// <summary>Timestamp of the oldest entry, Unix ns; <see cref="long.MaxValue"/> when there is none.</summary>
    public long OldestTimestampNs { get; init; } = long.MaxValue;

    /// <summary>Entries not sent because Loki would refuse them (by <see cref="RefusalReason"/>).</summary>
    public int[] RefusedBeforeSend { get; init; } = new int[ResponseClassifier.ReasonNames.Length];

    /// <summary>Splits streams into two requests of about half the entries each. Needs at least two entries.</summary>
    public static (List<PushStream> First, List<PushStream> Second) Split(IReadOnlyList<PushStream> streams)
    {
        var total = streams.Sum(s => s.Entries.Count);
        var half = total / 2;
        List<PushStream> first = [], second = [];
        var taken = 0;
        foreach (var stream in streams)
        {
            var left = Math.Clamp(half - taken, 0, stream.Entries.Count);
            if (left > 0)
            {
                var part = new PushStream(stream.Labels);
                part.Entries.AddRange(stream.Entries.Take(left));
                first.Add(part);
            }

            if (left < stream.Entries.Count)
            {
                var part = new PushStream(stream.Labels);
                part.Entries.AddRange(stream.Entries.Skip(left));
                second.Add(part);
            }

            taken += left;
        }

        return (first, second);
    }

    private readonly object _gate = new();
    private List<Batch>? _rebuilt;
    private int _released;

    /// <summary>
    /// Returns the lines' buffers to their pool, and those of the batches rebuilt from its range. Call
    /// once the batch will never be encoded again; later calls do nothing.
    /// </summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        Lines.Release();
        foreach (var stream in Streams)
        {
            stream.Entries.Release();
        }

        List<Batch>? rebuilt;
        lock (_gate)
        {
            rebuilt = _rebuilt;
            _rebuilt = null;
        }

        rebuilt?.ForEach(b => b.Release());
    }

    /// <summary>Ties <paramref name="rebuilt"/> (this range built again) to this batch: released with it.</summary>
    public void ReleaseWith(Batch rebuilt)
    {
        lock (_gate)
        {
            (_rebuilt ??= []).Add(rebuilt);
        }
    }

    public static long CountLineBytes(IReadOnlyList<PushStream> streams)
    {
        long bytes = 0;
        foreach (var stream in streams)
        {
            foreach (var entry in stream.Entries)
            {
                bytes += entry.LineBytes;
            }
        }

        return bytes;
    }

    /// <summary>
    /// The bytes Loki's per-stream rate limit counts for <paramref name="streams"/>: lines, and from Loki
    /// 3.3 on the structured metadata's names and values too (counted here whatever the version: a little
    /// more than an older Loki counts only paces a little slower).
    /// </summary>
    public static long CountRateBytes(IReadOnlyList<PushStream> streams)
    {
        long bytes = 0;
        foreach (var stream in streams)
        {
            foreach (var entry in stream.Entries)
            {
                bytes += entry.LineBytes;
                if (entry.Metadata is { } metadata)
                {
                    foreach (var (name, value) in metadata)
                    {
                        bytes += System.Text.Encoding.UTF8.GetByteCount(name) + System.Text.Encoding.UTF8.GetByteCount(value);
                    }
                }
            }
        }

        return bytes;
    }
}
