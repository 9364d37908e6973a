using System.Text.Json;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Cli;

public sealed class ExportCommandTests
{
    [Theory]
    [InlineData("jsonl")]
    [InlineData("logfmt")]
    [InlineData("text")]
    public async Task Export_writes_the_unshipped_entries_to_a_file_in_each_format_and_changes_nothing(string format)
    {
        using var dir = new TempDirectory();
        using var outside = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 100).Select(i => InspectWals.Entry(i)));
        InspectWals.SaveCheckpoint(dir.Path, InspectWals.Records(dir.Path)[60].Position);
        var before = InspectWals.Snapshot(dir.Path);
        var file = outside.Combine("export." + format);

        var result = await CliRunner.RunAsync("export", dir.Path, "--format", format, "--out", file);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Equal(before, InspectWals.Snapshot(dir.Path));
        var lines = File.ReadAllLines(file);
        Assert.Equal(40, lines.Length);
        Assert.Contains("export: 40 entries", result.Error);
        Assert.Contains("0 damaged ranges skipped", result.Error);
        var expected = format switch
        {
            "jsonl" => """{"ts":"2025-06-01T12:01:00.000000000Z","level":"info","category":"Orders","msg":"order 60 placed"}""",
            "logfmt" => """ts=2025-06-01T12:01:00.000000000Z level=info category=Orders msg="order 60 placed" """.TrimEnd(),
            _ => "2025-06-01T12:01:00.000000000Z info Orders: order 60 placed",
        };
        Assert.Equal(expected, lines[0]);
        Assert.EndsWith(format == "jsonl" ? "\"order 99 placed\"}" : format == "logfmt" ? "\"order 99 placed\"" : "order 99 placed", lines[^1]);
        if (format == "jsonl")
        {
            Assert.All(lines, line => JsonDocument.Parse(line));
        }
    }

    [Fact]
    public async Task Export_with_include_shipped_writes_everything_on_disk_to_stdout()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 100).Select(i => InspectWals.Entry(i)));
        InspectWals.SaveCheckpoint(dir.Path, InspectWals.Records(dir.Path)[60].Position);

        var result = await CliRunner.RunAsync("export", dir.Path, "--format", "jsonl", "--include-shipped");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            Enumerable.Range(0, 100).Select(i => $"order {i} placed"),
            result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("msg").GetString()));
        Assert.Contains("export: 100 entries", result.Error);
    }

    [Fact]
    public async Task Export_refuses_to_write_inside_the_wal_directory()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 5).Select(i => InspectWals.Entry(i)));
        var before = InspectWals.Snapshot(dir.Path);

        var result = await CliRunner.RunAsync("export", dir.Path, "--format", "text", "--out", dir.Combine("dump.txt"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("inside the WAL directory", result.Error);
        Assert.Equal(before, InspectWals.Snapshot(dir.Path));
    }

    [Fact]
    public async Task Export_skips_a_damaged_record_keeps_the_rest_and_exits_1()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 30).Select(i => InspectWals.Entry(i)));
        var victim = InspectWals.Records(dir.Path)[7];
        var path = InspectWals.SegmentPath(dir.Path, victim.Position.Segment);
        var bytes = File.ReadAllBytes(path);
        bytes[victim.Position.Offset + 20] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var result = await CliRunner.RunAsync("export", dir.Path, "--format", "text");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(29, result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("order 7 placed", result.Output);
        Assert.Contains("1 damaged ranges skipped", result.Error);
    }

    [Fact]
    public async Task Export_without_a_format_or_of_a_non_wal_is_a_usage_error()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, [InspectWals.Entry(0)]);
        using var empty = new TempDirectory();

        var noFormat = await CliRunner.RunAsync("export", dir.Path);
        var badFormat = await CliRunner.RunAsync("export", dir.Path, "--format", "csv");
        var notWal = await CliRunner.RunAsync("export", empty.Path, "--format", "jsonl");

        Assert.Equal(2, noFormat.ExitCode);
        Assert.Contains("--format", noFormat.Error);
        Assert.Equal(2, badFormat.ExitCode);
        Assert.Equal(2, notWal.ExitCode);
        Assert.Contains("is not a LogPersist WAL directory", notWal.Error);
        Assert.Empty(Directory.GetFileSystemEntries(empty.Path));
    }
}
