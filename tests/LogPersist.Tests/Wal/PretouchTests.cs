using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// How far ahead of the appenders a segment's pages are faulted in: one step in a fresh segment, so
/// that creating one (at start-up, before the first log call) does not fault in megabytes at once,
/// then twice what has been appended, up to the full window.
/// </summary>
public class PretouchTests
{
    [Fact]
    public void A_fresh_segment_is_touched_one_step_ahead()
    {
        Assert.Equal(WalSegment.PretouchStep, WalSegment.WindowAt(0));
        Assert.Equal(WalSegment.PretouchStep, WalSegment.WindowAt(SegmentScanner.FirstRecordOffset));
    }

    [Fact]
    public void The_window_grows_with_what_was_appended_up_to_its_full_size()
    {
        Assert.Equal(2 * WalSegment.PretouchStep, WalSegment.WindowAt(WalSegment.PretouchStep));
        Assert.Equal(WalSegment.PretouchWindow, WalSegment.WindowAt(WalSegment.PretouchWindow / 2));
        Assert.Equal(WalSegment.PretouchWindow, WalSegment.WindowAt(60L << 20));
    }

    [Fact]
    public void Appends_that_cross_each_step_keep_touched_pages_ahead_of_the_tail()
    {
        for (var tail = WalSegment.PretouchStep; tail < (8L << 20); tail += WalSegment.PretouchStep)
        {
            // The pretouch asked for at this step reaches beyond the next step, where the next one is asked for.
            Assert.True(tail + WalSegment.WindowAt(tail) >= tail + (2 * WalSegment.PretouchStep));
        }
    }
}
