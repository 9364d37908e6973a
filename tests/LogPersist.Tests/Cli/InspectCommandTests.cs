using System.Text.Json;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Cli;

public sealed class InspectCommandTests
{
    [Fact]
    public async Task Inspect_reports_segments_checkpoint_and_unshipped_entries_as_json()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 300).Select(i => InspectWals.Entry(i)));
        var records = InspectWals.Records(dir.Path);
        var segments = InspectWals.Segments(dir.Path);
        Assert.True(segments.Count >= 3, $"only {segments.Count} segments");
        // Acknowledge up to the middle of the second segment: the first is shipped (still on disk), the second partly.
        var inSecond = records.Where(r => r.Position.Segment == segments[1]).ToList();
        var acknowledged = inSecond[inSecond.Count / 2].Position;
        InspectWals.SaveCheckpoint(dir.Path, acknowledged);
        var shipped = records.Count(r => r.Position < acknowledged);
        var time = new ManualTime();

        var result = await InspectWals.RunAsync(["inspect", dir.Path, "--json"], time);

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        Assert.Equal("valid", root.GetProperty("checkpoint").GetProperty("state").GetString());
        Assert.Equal(acknowledged.Segment, root.GetProperty("checkpoint").GetProperty("segment").GetInt64());
        Assert.Equal(acknowledged.Offset, root.GetProperty("checkpoint").GetProperty("offset").GetInt64());
        Assert.Equal(300, root.GetProperty("records").GetInt64());
        Assert.Equal(300 - shipped, root.GetProperty("unshipped").GetProperty("entries").GetInt64());
        Assert.Equal(records.Where(r => r.Position >= acknowledged).Sum(r => r.Payload.Length), root.GetProperty("unshipped").GetProperty("bytes").GetInt64());
        var oldestUnshipped = InspectWals.Epoch.AddSeconds(shipped);
        Assert.Equal(oldestUnshipped.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + ".000000000Z", root.GetProperty("unshipped").GetProperty("oldestTimestamp").GetString());
        Assert.Equal((time.GetUtcNow() - oldestUnshipped).TotalSeconds, root.GetProperty("shipLagSeconds").GetDouble(), 3);

        var listed = root.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(segments, listed.Select(s => s.GetProperty("sequence").GetInt64()));
        Assert.Equal(records.Count, listed.Sum(s => s.GetProperty("records").GetInt64()));
        Assert.Equal(["shipped", "partlyShipped"], listed.Take(2).Select(s => s.GetProperty("state").GetString()));
        Assert.All(listed.Skip(2), s => Assert.Equal("unshipped", s.GetProperty("state").GetString()));
        Assert.All(listed, s => Assert.Equal(SegmentHeader.CurrentVersion, s.GetProperty("formatVersion").GetInt32()));
        Assert.All(listed, s => Assert.Equal("ok", s.GetProperty("header").GetString()));
        Assert.Equal("2025-06-01T12:00:00.000000000Z", listed[0].GetProperty("firstTimestamp").GetString());
        Assert.Equal([(int)SegmentHeader.CurrentVersion], root.GetProperty("formatVersions").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(0, root.GetProperty("damage").GetProperty("ranges").GetInt32());
        Assert.Equal("released", root.GetProperty("holder").GetProperty("state").GetString());
        Assert.False(root.GetProperty("holder").GetProperty("live").GetBoolean());
        Assert.Equal("orders", root.GetProperty("stream").GetProperty("labels").GetProperty("service_name").GetString());
        Assert.Equal("json", root.GetProperty("stream").GetProperty("lineFormat").GetString());
        Assert.Equal("stream.json", root.GetProperty("stream").GetProperty("source").GetString());
    }

    [Fact]
    public async Task Inspect_prints_tables_with_checkpoint_counts_and_labels()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 10).Select(i => InspectWals.Entry(i)), LineFormat.Logfmt);

        var result = await CliRunner.RunAsync("inspect", dir.Path);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("none (nothing acknowledged yet)", result.Output);
        Assert.Contains("10 entries", result.Output);
        Assert.Contains("{pod=\"orders-0\", service_name=\"orders\"}", result.Output);
        Assert.Contains("logfmt", result.Output);
        Assert.Contains("unshipped", result.Output);
    }

    [Fact]
    public async Task Inspect_counts_gap_records_by_reason_when_the_disk_cap_evicted_segments()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 400).Select(i => InspectWals.Entry(i)), maxDiskBytes: 3 * InspectWals.SegmentBytes);

        var result = await CliRunner.RunAsync("inspect", dir.Path, "--json");

        Assert.Equal(0, result.ExitCode);
        var drops = JsonDocument.Parse(result.Output).RootElement.GetProperty("drops");
        var evicted = drops.GetProperty("byReason").GetProperty("oldest_evicted");
        Assert.True(evicted.GetProperty("gapRecords").GetInt64() >= 1);
        var kept = InspectWals.Records(dir.Path).Count(r => r.Kind == RecordKind.Data);
        Assert.Equal(400 - kept, evicted.GetProperty("entries").GetInt64());
        Assert.Equal(drops.GetProperty("gapRecords").GetInt64(), evicted.GetProperty("gapRecords").GetInt64());
    }

    [Fact]
    public async Task Inspect_on_a_directory_held_by_an_open_wal_reports_the_holder_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 30).Select(i => InspectWals.Entry(i)));
        InspectWals.SaveCheckpoint(dir.Path, InspectWals.Records(dir.Path)[5].Next);
        using var wal = InspectWals.OpenHeld(dir.Path);
        InspectWals.Append(wal, Enumerable.Range(30, 5).Select(i => InspectWals.Entry(i)));
        var before = InspectWals.Snapshot(dir.Path);

        var result = await CliRunner.RunAsync("inspect", dir.Path, "--json");
        var table = await CliRunner.RunAsync("inspect", dir.Path);

        Assert.Equal(before, InspectWals.Snapshot(dir.Path));
        Assert.Equal(0, result.ExitCode);
        var root = JsonDocument.Parse(result.Output).RootElement;
        var holder = root.GetProperty("holder");
        Assert.Equal("live", holder.GetProperty("state").GetString());
        Assert.Equal(Environment.ProcessId, holder.GetProperty("processId").GetInt32());
        Assert.Equal(Environment.MachineName, holder.GetProperty("host").GetString());
        Assert.Equal("orders/orders-0", holder.GetProperty("instance").GetString());
        var record = holder.GetProperty("record");
        Assert.Equal("live", record.GetProperty("state").GetString());
        Assert.Equal("orders-0", record.GetProperty("pod").GetString());
        Assert.Equal("node-7", record.GetProperty("node").GetString());
        Assert.Equal(0, record.GetProperty("epoch").GetInt64());
        Assert.Equal(7200, record.GetProperty("leaseSeconds").GetDouble());
        Assert.Equal(35, root.GetProperty("records").GetInt64());
        Assert.Equal(29, root.GetProperty("unshipped").GetProperty("entries").GetInt64());
        Assert.True(root.GetProperty("segments").EnumerateArray().Last().GetProperty("live").GetBoolean());
        Assert.Contains($"held by a live process (pid {Environment.ProcessId}", table.Output);
        Assert.Contains("live: pod orders-0 on node node-7, epoch 0, heartbeat 0, lease 7200 s", table.Output);
    }

    [Fact]
    public async Task Inspect_of_a_path_that_is_not_a_wal_is_a_usage_error()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("notes.txt"), "hello");

        var notWal = await CliRunner.RunAsync("inspect", dir.Path);
        var missing = await CliRunner.RunAsync("inspect", dir.Combine("nope"));

        Assert.Equal(2, notWal.ExitCode);
        Assert.Contains("is not a LogPersist WAL directory", notWal.Error);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error);
        Assert.Equal(["notes.txt"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Inspect_with_an_unknown_option_is_a_usage_error()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, [InspectWals.Entry(0)]);

        var result = await CliRunner.RunAsync("inspect", dir.Path, "--colour");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--colour", result.Error);
    }
}
