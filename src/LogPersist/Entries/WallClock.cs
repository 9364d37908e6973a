using System.Diagnostics;

namespace LogPersist.Entries;

/// <summary>
/// The wall-clock readings a <see cref="WallClock{TSources}"/> is made from: Unix time in nanoseconds
/// (stepped by whoever sets the clock) and a monotonic counter (never stepped). A seam for tests.
/// </summary>
internal interface IClockSources
{
    /// <summary>The wall clock: nanoseconds since the Unix epoch, UTC.</summary>
    long WallNs();

    /// <summary>A monotonic counter in <see cref="TicksPerSecond"/> units; only differences mean anything.</summary>
    long MonotonicTicks();

    /// <summary>The monotonic counter's frequency.</summary>
    long TicksPerSecond { get; }
}

/// <summary>The system's clocks: <see cref="DateTime.UtcNow"/> and <see cref="Stopwatch.GetTimestamp"/>.</summary>
internal readonly struct SystemClockSources : IClockSources
{
    public long WallNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public long MonotonicTicks() => Stopwatch.GetTimestamp();

    public long TicksPerSecond => Stopwatch.Frequency;
}

/// <summary>The process's timestamp clock when the pipeline's time provider is <see cref="TimeProvider.System"/>.</summary>
internal static class WallClock
{
    /// <summary>The clock every log call of the process stamps with.</summary>
    public static readonly WallClock<SystemClockSources> System = new(default, TimeSpan.FromSeconds(1));
}

/// <summary>
/// Unix time in nanoseconds for stamping log entries, cheaper than the wall clock on every call: a
/// monotonic reading (<see cref="Stopwatch.GetTimestamp"/>) scaled to nanoseconds and added to an anchor
/// taken from the wall clock, which is taken again once <see cref="AnchorInterval"/> has passed (checked
/// on the call that finds it has; the other calls read only the monotonic counter).
/// </summary>
/// <remarks>
/// <para>
/// The readings never go backwards for the process: as a function of the monotonic counter, each new
/// anchor starts where the previous one had reached when it was taken, and calls that still use the
/// previous anchor only do so for readings before that point.
/// </para>
/// <para>
/// A wall clock stepped forward is followed at the next anchor (within <see cref="AnchorInterval"/>):
/// the readings jump with it. A wall clock stepped back is never followed by a jump back; the step
/// is absorbed by slewing: from that anchor on the readings advance at half the speed of the monotonic
/// counter until they have come back to the wall clock (a step back of one second is absorbed in two
/// seconds; of an hour, in two hours, during which the entries are stamped up to an hour ahead). Each
/// anchor measures the difference afresh, so a wall clock that is stepped again while slewing is
/// followed from the next anchor on. Ordinary drift between the two clocks (microseconds a second) is
/// absorbed the same way, without being visible.
/// </para>
/// </remarks>
/// <typeparam name="TSources">Where the readings come from: <see cref="SystemClockSources"/>, or a test's own.</typeparam>
internal sealed class WallClock<TSources>
    where TSources : IClockSources
{
    private readonly TSources _sources;

    // Zero when the counter counts nanoseconds already (Stopwatch on Linux and macOS): no scaling then.
    private readonly double _nsPerTick;
    private readonly long _intervalTicks;
    private readonly object _anchorLock = new();
    private Anchor _anchor;

    /// <summary>A clock anchored to <paramref name="sources"/>' wall clock now, and again every <paramref name="anchorInterval"/>.</summary>
    /// <param name="sources">The wall clock and the monotonic counter.</param>
    /// <param name="anchorInterval">How long an anchor is used; one second for <see cref="WallClock.System"/>.</param>
    public WallClock(TSources sources, TimeSpan anchorInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(anchorInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(sources.TicksPerSecond, 0);
        _sources = sources;
        _nsPerTick = sources.TicksPerSecond == 1_000_000_000 ? 0 : 1e9 / sources.TicksPerSecond;
        _intervalTicks = Math.Max(1, (long)(anchorInterval.TotalSeconds * sources.TicksPerSecond));
        AnchorInterval = anchorInterval;
        var ticks = sources.MonotonicTicks();
        _anchor = new Anchor(ticks, sources.WallNs(), 0, ticks + _intervalTicks);
    }

    /// <summary>How long one anchor to the wall clock is used before the wall clock is read again.</summary>
    public TimeSpan AnchorInterval { get; }

    /// <summary>Nanoseconds still to be absorbed after a wall clock stepped back (zero when none). Internal for tests.</summary>
    internal long SlewingNs => Volatile.Read(ref _anchor).DebtNs;

    /// <summary>Unix time in nanoseconds; never less than an earlier reading of the same clock.</summary>
    public long NowNs()
    {
        // The counter first, then the anchor: an anchor taken at a later counter reading than this one
        // still gives at least what the anchor before it gave for this reading.
        var ticks = _sources.MonotonicTicks();
        var anchor = Volatile.Read(ref _anchor);
        return ticks < anchor.NextTicks ? anchor.At(ticks, _nsPerTick) : Reanchor(ticks);
    }

    private long Reanchor(long ticks)
    {
        lock (_anchorLock)
        {
            var current = _anchor;
            if (ticks < current.NextTicks)
            {
                // Another call has just taken the anchor.
                return current.At(ticks, _nsPerTick);
            }

            // Read the counter again inside the lock: the anchor starts at a reading no call of the old
            // anchor can have reached, since they all read below NextTicks and this is at least that.
            var at = Math.Max(_sources.MonotonicTicks(), ticks);
            var wall = _sources.WallNs();
            var reached = current.At(at, _nsPerTick);
            var next = wall >= reached
                ? new Anchor(at, wall, 0, at + _intervalTicks)
                : new Anchor(at, reached, reached - wall, at + _intervalTicks);
            Volatile.Write(ref _anchor, next);
            return next.At(ticks, _nsPerTick);
        }
    }

    /// <summary>
    /// One anchor: at counter reading <see cref="Ticks"/> the time was <see cref="Ns"/>, with
    /// <see cref="DebtNs"/> to absorb at half speed; valid for readings below <see cref="NextTicks"/>.
    /// </summary>
    private sealed class Anchor(long ticks, long ns, long debtNs, long nextTicks)
    {
        public long Ticks { get; } = ticks;

        public long Ns { get; } = ns;

        public long DebtNs { get; } = debtNs;

        public long NextTicks { get; } = nextTicks;

        /// <summary>The time at counter reading <paramref name="ticks"/>: readings before the anchor give the anchor's own time.</summary>
        public long At(long ticks, double nsPerTick)
        {
            var elapsed = ticks <= Ticks ? 0 : nsPerTick == 0 ? ticks - Ticks : (long)((ticks - Ticks) * nsPerTick);
            return DebtNs == 0 ? Ns + elapsed : Ns + elapsed - Math.Min(DebtNs, elapsed >> 1);
        }
    }
}
