using System.Text.Json;
using LogPersist.Cli;
using LogPersist.Cli.Run.Controls;
using LogPersist.Entries;

namespace LogPersist.Tests.Cli.Run.Controls;

public sealed class LineControlsTests
{
    [Fact]
    public void Options_become_rates_patterns_and_replacements()
    {
        var controls = LineControls.Parse(["debug=0.1", "TRACE=0", "warning=1"], ["healthz"], [@"password\=\S+", @"token\=(\w+)=token=***", @"\d{16}="], @"^\[(?<level>\w+)\]");

        Assert.Equal(new Dictionary<EntryLevel, double> { [EntryLevel.Debug] = 0.1, [EntryLevel.Trace] = 0, [EntryLevel.Warning] = 1 }, controls.SampleRates);
        Assert.Equal(["healthz"], controls.Drops.Select(d => d.ToString()));
        Assert.Equal([(@"password\=\S+", LineControls.DefaultReplacement), (@"token\=(\w+)", "token=***"), (@"\d{16}", "")], controls.Redactions.Select(r => (r.Pattern.ToString(), r.Replacement)));
        Assert.NotNull(controls.LevelPattern);
        Assert.False(controls.IsEmpty);
        Assert.True(LineControls.Parse([], [], [], null).IsEmpty);
    }

    [Fact]
    public void Every_bad_option_is_named_in_one_usage_error()
    {
        var error = Assert.Throws<UsageException>(() => LineControls.Parse(["debug", "loud=0.5", "info=2", "error=NaN"], ["("], [""], "(?<lvl>x)"));

        foreach (var expected in (string[])["--sample takes LEVEL=RATE, not 'debug'", "'loud' is not a level", "the rate of info must be a number from 0 to 1, not '2'", "the rate of error", "--drop '('", "--redact needs a pattern", "has no group named 'level'"])
        {
            Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_config_object_gives_the_same_controls()
    {
        using var document = JsonDocument.Parse("""
            { "sample": { "debug": 0.25 }, "drop": ["GET /healthz"], "redact": ["secret-\\w+", { "pattern": "\\d{4}-\\d{4}", "replacement": "####" }], "levelPattern": "lvl=(?<level>\\w+)" }
            """);
        var problems = new List<string>();

        var controls = LineControls.FromJson(document.RootElement, problems);

        Assert.Empty(problems);
        Assert.Equal(0.25, controls.SampleRates[EntryLevel.Debug]);
        Assert.Equal(["GET /healthz"], controls.Drops.Select(d => d.ToString()));
        Assert.Equal([(@"secret-\w+", LineControls.DefaultReplacement), (@"\d{4}-\d{4}", "####")], controls.Redactions.Select(r => (r.Pattern.ToString(), r.Replacement)));
    }

    [Fact]
    public void A_config_object_with_wrong_shapes_lists_each_problem()
    {
        using var document = JsonDocument.Parse("""{ "sample": { "debug": "half" }, "drop": "x", "redact": [42], "levelPattern": 1 }""");
        var problems = new List<string>();

        LineControls.FromJson(document.RootElement, problems);

        Assert.Equal(4, problems.Count);
    }
}
