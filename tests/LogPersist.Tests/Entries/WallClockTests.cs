using LogPersist.Entries;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Entries;

/// <summary>
/// The clock log entries are stamped with under <see cref="TimeProvider.System"/>: a monotonic counter
/// anchored to the wall clock, anchored again each interval, never going backwards, following a wall
/// clock stepped forward at the next anchor and slewing over one stepped back. Driven through scripted
/// sources: the assertions are about the rules, not about timing.
/// </summary>
public class WallClockTests
{
    private const long Second = 1_000_000_000;
    private const long Start = 1_767_225_600L * Second; // 2026-01-01T00:00:00Z

    [Fact]
    public void Readings_are_the_wall_clock_at_the_anchor_plus_the_monotonic_time_since()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));

        Assert.Equal(Start, clock.NowNs());
        sources.Elapse(250_000_000);
        Assert.Equal(Start + 250_000_000, clock.NowNs());
    }

    [Fact]
    public void The_wall_clock_is_read_again_only_once_the_interval_has_passed()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        var reads = sources.WallReads;

        for (var i = 0; i < 10; i++)
        {
            sources.Elapse(Second / 20);
            clock.NowNs();
        }

        Assert.Equal(reads, sources.WallReads);
        sources.Elapse(Second / 2);
        clock.NowNs();
        Assert.Equal(reads + 1, sources.WallReads);
    }

    [Fact]
    public void A_wall_clock_stepped_forward_is_followed_at_the_next_anchor()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        sources.Elapse(Second / 2);
        sources.StepWall(+60 * Second);

        // Within the interval the anchor still holds.
        Assert.Equal(Start + (Second / 2), clock.NowNs());

        sources.Elapse(Second);
        Assert.Equal(sources.Wall, clock.NowNs());
        Assert.Equal(0, clock.SlewingNs);
    }

    [Fact]
    public void A_wall_clock_stepped_back_never_makes_a_reading_go_backwards_and_is_caught_up_by_slewing()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        sources.Elapse(Second / 2);
        var before = clock.NowNs();
        sources.StepWall(-10 * Second);

        var previous = before;
        var readings = new List<long>();
        for (var i = 0; i < 400; i++)
        {
            sources.Elapse(Second / 10);
            var now = clock.NowNs();
            Assert.True(now >= previous, $"reading {i} went back from {previous} to {now}");
            previous = now;
            readings.Add(now);
        }

        // While slewing, time advances at half speed; once caught up, it is the wall clock again.
        Assert.True(readings[20] - readings[10] < 10 * (Second / 10));
        Assert.Equal(sources.Wall, readings[^1]);
        Assert.Equal(0, clock.SlewingNs);
    }

    [Fact]
    public void While_slewing_the_step_still_to_absorb_shrinks_at_each_anchor()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        sources.StepWall(-10 * Second);
        sources.Elapse(Second);
        clock.NowNs();
        var first = clock.SlewingNs;

        sources.Elapse(Second);
        clock.NowNs();

        Assert.InRange(first, 9 * Second, 10 * Second);
        Assert.Equal(first - (Second / 2), clock.SlewingNs);
    }

    [Fact]
    public void A_wall_clock_stepped_forward_while_slewing_ends_the_slew()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        sources.StepWall(-10 * Second);
        sources.Elapse(Second);
        var slewing = clock.NowNs();
        Assert.True(clock.SlewingNs > 0);

        sources.StepWall(+20 * Second);
        sources.Elapse(Second);
        var now = clock.NowNs();

        Assert.Equal(sources.Wall, now);
        Assert.True(now > slewing);
        Assert.Equal(0, clock.SlewingNs);
    }

    [Fact]
    public void Calls_that_find_the_anchor_due_at_once_all_get_readings_that_never_go_backwards()
    {
        var sources = new ScriptedSources();
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromMilliseconds(1));
        sources.StepWall(-Second);
        var previous = new long[4];
        Parallel.For(0, 4, worker =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                if (worker == 0)
                {
                    sources.Elapse(100_000);
                }

                var now = clock.NowNs();
                Assert.True(now >= previous[worker]);
                previous[worker] = now;
            }
        });
    }

    [Fact]
    public void A_counter_of_another_frequency_is_scaled_to_nanoseconds()
    {
        var sources = new ScriptedSources(ticksPerSecond: 10_000_000);
        var clock = new WallClock<ScriptedSources>(sources, TimeSpan.FromSeconds(1));
        sources.Elapse(123_456_700);

        Assert.Equal(Start + 123_456_700, clock.NowNs());
    }

    [Fact]
    public void LogEntry_reads_any_provider_but_the_system_one_as_it_is()
    {
        var time = new ManualTime();
        var expected = (time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

        Assert.Equal(expected, LogEntry.NowNs(time));
        time.Advance(TimeSpan.FromDays(-3));
        Assert.Equal(expected - (TimeSpan.FromDays(3).Ticks * 100), LogEntry.NowNs(time));
    }

    [Fact]
    public void LogEntry_reads_the_system_provider_through_the_anchored_clock()
    {
        var before = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        var first = LogEntry.NowNs(TimeProvider.System);
        var second = LogEntry.NowNs(TimeProvider.System);

        Assert.True(second >= first);
        // Anchored to the wall clock: the same time give or take an anchor interval of a wall clock being set.
        Assert.InRange(first, before - Second, before + (2 * Second));
        Assert.Equal(TimeSpan.FromSeconds(1), WallClock.System.AnchorInterval);
    }

    /// <summary>A wall clock and a monotonic counter moved by the test; thread-safe, counts wall reads.</summary>
    private sealed class ScriptedSources(long ticksPerSecond = Second) : IClockSources
    {
        private long _ticks = 1_000;
        private long _wall = Start;
        private int _wallReads;

        public long TicksPerSecond { get; } = ticksPerSecond;

        public long Wall => Interlocked.Read(ref _wall);

        public int WallReads => Volatile.Read(ref _wallReads);

        public long WallNs()
        {
            Interlocked.Increment(ref _wallReads);
            return Interlocked.Read(ref _wall);
        }

        public long MonotonicTicks() => Interlocked.Read(ref _ticks);

        /// <summary>Moves both clocks on by <paramref name="ns"/>.</summary>
        public void Elapse(long ns)
        {
            Interlocked.Add(ref _ticks, ns / (Second / TicksPerSecond));
            Interlocked.Add(ref _wall, ns);
        }

        /// <summary>Sets the wall clock by <paramref name="ns"/>, as an administrator or NTP stepping it would.</summary>
        public void StepWall(long ns) => Interlocked.Add(ref _wall, ns);
    }
}
