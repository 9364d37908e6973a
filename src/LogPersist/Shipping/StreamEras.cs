using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// The stretches of a WAL whose entries become streams and lines one way (<see cref="StreamDescription"/>),
/// in WAL order: the earlier descriptions still holding unacknowledged entries, then the current one.
/// Read by the shipper's reading loop and by rebuilds on sending threads; changed by a reconfiguration
/// while the loop is between two reads.
/// </summary>
internal sealed class StreamEras
{
    private readonly Action<string>? _overflowed;
    private volatile Era[] _eras;
    private int _version;

    public StreamEras(ShipperOptions options, StreamResolver current, Action<string>? overflowed = null)
    {
        _overflowed = overflowed;
        _eras = [.. options.EarlierStreams.Select(d => Era.For(options, d, overflowed: overflowed)), new Era(options.StreamFrom, StreamDescription.Of(options), options, current)];
    }

    /// <summary>The era an entry at <paramref name="position"/> was written in: the last one starting at or before it.</summary>
    public Era At(WalPosition position)
    {
        var eras = _eras;
        for (var i = eras.Length - 1; i > 0; i--)
        {
            if (eras[i].From <= position)
            {
                return eras[i];
            }
        }

        return eras[0];
    }

    /// <summary>Changes whenever <see cref="Take"/> was called: the settings a batch is built with may have changed.</summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>Where the era after the one starting at <paramref name="from"/> starts; null when that is the newest.</summary>
    public WalPosition? NextFrom(WalPosition from)
    {
        foreach (var era in _eras)
        {
            if (era.From > from)
            {
                return era.From;
            }
        }

        return null;
    }

    /// <summary>
    /// Takes new settings. Every era keeps its description and takes the other settings of
    /// <paramref name="options"/> (batching, limits). New labels or line settings start a new era at
    /// <paramref name="from"/>, or replace the newest one when nothing was read under it yet; eras whose
    /// every entry lies before <paramref name="acknowledged"/> are forgotten. Returns the description to
    /// save (the new one with the earlier ones), or null when the shape did not change.
    /// </summary>
    public StreamDescription? Take(ShipperOptions options, WalPosition from, WalPosition acknowledged)
    {
        var eras = _eras;
        var newest = eras[^1];
        var description = StreamDescription.Of(options);
        var kept = eras.Select(e => Era.For(options, e.Description, e.Streams, _overflowed)).ToList();
        StreamDescription? changed = null;
        if (!description.SameShape(newest.Description))
        {
            from = from >= newest.From ? from : newest.From;
            if (from == newest.From)
            {
                kept.RemoveAt(kept.Count - 1);
            }

            kept.Add(Era.For(options, description with { From = from }, overflowed: _overflowed));
            while (kept.Count > 1 && kept[1].From <= acknowledged)
            {
                kept.RemoveAt(0);
            }

            var earlier = kept.Take(kept.Count - 1).Select(e => e.Description with { Earlier = [] }).TakeLast(StreamDescription.MaxEarlier).ToArray();
            changed = kept[^1].Description with { Earlier = earlier };
        }

        _eras = [.. kept];
        Interlocked.Increment(ref _version);
        return changed;
    }

    /// <summary>A stretch of the WAL: its description and the shipper settings that build its entries.</summary>
    internal sealed record Era(WalPosition From, StreamDescription Description, ShipperOptions Options, StreamResolver Streams)
    {
        /// <summary>The era of <paramref name="description"/>, with the other settings of <paramref name="options"/>.</summary>
        public static Era For(ShipperOptions options, StreamDescription description, StreamResolver? streams = null, Action<string>? overflowed = null)
        {
            var shaped = options.Clone();
            description.ApplyTo(shaped);
            return new Era(description.From, description, shaped, streams ?? new StreamResolver(shaped, overflowed));
        }
    }
}
