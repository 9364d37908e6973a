using System.Text.Json;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Cli;

public sealed class TailCommandTests
{
    private static IEnumerable<LogPersist.Entries.LogEntry> Mixed(int count) =>
        Enumerable.Range(0, count).Select(i => InspectWals.Entry(i, i % 4 == 0 ? EntryLevel.Error : EntryLevel.Information));

    [Fact]
    public async Task Tail_prints_the_last_entries_in_the_streams_line_format_led_by_their_timestamp()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(20), LineFormat.Logfmt);

        var result = await CliRunner.RunAsync("tail", dir.Path, "-n", "3");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                "ts=2025-06-01T12:00:17.000000000Z level=info category=Orders msg=\"order 17 placed\"",
                "ts=2025-06-01T12:00:18.000000000Z level=info category=Orders msg=\"order 18 placed\"",
                "ts=2025-06-01T12:00:19.000000000Z level=info category=Orders msg=\"order 19 placed\"",
            ],
            result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Tail_filters_by_minimum_level_and_by_text_before_counting()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(20));

        var errors = await CliRunner.RunAsync("tail", dir.Path, "-n", "2", "--level", "error", "--format", "json");
        var grep = await CliRunner.RunAsync("tail", dir.Path, "-n", "3", "--grep", "order 1", "--format", "text");
        var both = await CliRunner.RunAsync("tail", dir.Path, "--level", "warn", "--grep", "order 1");

        Assert.Equal(0, errors.ExitCode);
        var lines = errors.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["order 12 placed", "order 16 placed"], lines.Select(l => l.GetProperty("msg").GetString()));
        Assert.All(lines, l => Assert.Equal("error", l.GetProperty("level").GetString()));
        Assert.Equal("2025-06-01T12:00:16.000000000Z", lines[1].GetProperty("ts").GetString());
        Assert.Equal(
            ["2025-06-01T12:00:17.000000000Z info Orders: order 17 placed", "2025-06-01T12:00:18.000000000Z info Orders: order 18 placed", "2025-06-01T12:00:19.000000000Z info Orders: order 19 placed"],
            grep.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["order 12 placed", "order 16 placed"], both.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task Tail_reads_back_across_segments_in_order()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(300));
        Assert.True(InspectWals.Segments(dir.Path).Count >= 3);

        var result = await CliRunner.RunAsync("tail", dir.Path, "-n", "120");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            Enumerable.Range(180, 120).Select(i => $"order {i} placed"),
            result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task Tail_prints_gap_records_as_the_marker_lines_the_shipper_sends()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(400), maxDiskBytes: 3 * InspectWals.SegmentBytes);

        var result = await CliRunner.RunAsync("tail", dir.Path, "-n", "1000", "--grep", "LogPersist dropped");

        Assert.Equal(0, result.ExitCode);
        var markers = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(markers);
        Assert.All(markers, m =>
        {
            Assert.Equal("warn", m.GetProperty("level").GetString());
            Assert.Equal("LogPersist", m.GetProperty("category").GetString());
            Assert.Equal("oldest_evicted", m.GetProperty("reason").GetString());
            Assert.True(m.GetProperty("dropped_entries").GetInt64() > 0);
        });
    }

    [Fact]
    public async Task Tail_follow_prints_a_record_appended_after_it_started_and_stops_on_cancellation()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(5));
        using var wal = InspectWals.OpenHeld(dir.Path);
        using var output = new WatchedWriter();
        using var stop = new CancellationTokenSource();

        var tail = InspectWals.RunAsync(["tail", dir.Path, "-n", "2", "-f", "--format", "text"], output: output, cancellation: stop.Token);
        await output.WaitForAsync(lines => lines.Length == 2);
        InspectWals.Append(wal, [InspectWals.Entry(5, message: "appended while following")]);
        var seen = await output.WaitForAsync(lines => lines.Length == 3);
        stop.Cancel();
        var result = await tail;

        Assert.Equal(0, result.ExitCode);
        Assert.EndsWith("order 3 placed", seen[0]);
        Assert.EndsWith("order 4 placed", seen[1]);
        Assert.Equal("2025-06-01T12:00:05.000000000Z info Orders: appended while following", seen[2]);
    }

    [Fact]
    public async Task Tail_rejects_an_unknown_level_and_an_unknown_option()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Mixed(3));

        var level = await CliRunner.RunAsync("tail", dir.Path, "--level", "loud");
        var option = await CliRunner.RunAsync("tail", dir.Path, "--since", "1h");

        Assert.Equal(2, level.ExitCode);
        Assert.Contains("--level 'loud' is not a level", level.Error);
        Assert.Equal(2, option.ExitCode);
        Assert.Contains("--since", option.Error);
    }
}
