using LogPersist.Cli.Run.Controls;
using LogPersist.Entries;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Cli.Run.Controls;

public sealed class LineFilterTests
{
    [Fact]
    public void Sampling_keeps_about_its_rate_and_counts_the_rest_by_level()
    {
        using var filter = new LineFilter(LineControls.Parse(["debug=0.1", "trace=0"], [], [], null), directory: null);
        var controls = filter.Controls;

        var kept = Enumerable.Range(0, 20_000).Count(_ => filter.Keeps(controls, EntryLevel.Debug));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.False(filter.Keeps(controls, EntryLevel.Trace)));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.True(filter.Keeps(controls, EntryLevel.Error)));

        // 10 % of 20,000: 2,000 with a standard deviation of about 42; 300 is over 7 of them.
        Assert.InRange(kept, 1_700, 2_300);
        var counts = filter.Take();
        Assert.Equal(20_000 - kept, counts.SampledOut[(int)EntryLevel.Debug]);
        Assert.Equal(100, counts.SampledOut[(int)EntryLevel.Trace]);
        Assert.Equal(0, counts.SampledOut[(int)EntryLevel.Error]);
        Assert.False(filter.Take().Any);
    }

    [Fact]
    public void Redaction_replaces_every_match_and_counts_a_changed_line_once()
    {
        using var filter = new LineFilter(LineControls.Parse([], [], [@"password\=\S+", @"\b\d{4}-\d{4}-\d{4}-\d{4}\b=[card]"], null), directory: null);
        var controls = filter.Controls;

        Assert.Equal("login [REDACTED] card [card] and [card]", filter.Redact(controls, "login password=hunter2 card 4111-1111-1111-1111 and 5500-0000-0000-0004"));
        Assert.Equal("nothing to hide", filter.Redact(controls, "nothing to hide"));
        Assert.Equal(1, filter.Take().Redacted);
    }

    [Fact]
    public void Drops_are_counted_and_a_level_pattern_names_the_level()
    {
        using var filter = new LineFilter(LineControls.Parse([], ["GET /healthz"], [], @"\blevel=(?<level>\w+)"), directory: null);
        var controls = filter.Controls;

        Assert.True(filter.Drops(controls, "10.0.0.1 GET /healthz 200"));
        Assert.False(filter.Drops(controls, "10.0.0.1 GET /api 200"));
        Assert.Equal(EntryLevel.Warning, LineFilter.PatternLevel(controls, "ts=1 level=warn msg=slow"));
        Assert.Null(LineFilter.PatternLevel(controls, "ts=1 msg=plain"));
        Assert.Equal(1, filter.Take().Dropped);
    }

    [Fact]
    public void Each_left_out_or_changed_line_is_counted_on_the_meter_by_reason()
    {
        var directory = "/wal/" + Guid.NewGuid().ToString("N");
        using var meter = MeterRecorder.ForDirectory(directory);
        using var filter = new LineFilter(LineControls.Parse(["debug=0"], ["noise"], ["secret"], null), directory);
        var controls = filter.Controls;

        Assert.False(filter.Keeps(controls, EntryLevel.Debug));
        Assert.False(filter.Keeps(controls, EntryLevel.Debug));
        Assert.True(filter.Drops(controls, "some noise"));
        Assert.Equal("a [REDACTED]", filter.Redact(controls, "a secret"));

        const string Filtered = "logpersist.run.line.filtered";
        Assert.Equal(2, meter.Sum(Filtered, "logpersist.reason=sampled|logpersist.level=debug"));
        Assert.Equal(1, meter.Sum(Filtered, "logpersist.reason=dropped"));
        Assert.Equal(1, meter.Sum(Filtered, "logpersist.reason=redacted"));
    }
}
