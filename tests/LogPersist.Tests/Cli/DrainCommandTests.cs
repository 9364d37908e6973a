using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Ship = LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Cli;

public sealed class DrainCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Drain_ships_every_entry_under_the_writers_labels_and_removes_the_directory()
    {
        var directory = WriteWal("billing", "billing-7", 0, 500);

        var result = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("drained", result.Output, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
        Assert.All(_server.Entries, e =>
        {
            Assert.Equal("billing", e.LabelMap["service_name"]);
            Assert.Equal("billing-7", e.LabelMap["pod"]);
            Assert.Equal("prod", e.LabelMap["env"]);
        });
        Assert.False(Directory.Exists(directory), "a drained directory is removed, lock, checkpoint and owner record included");
    }

    [Fact]
    public async Task Drain_interrupted_by_a_stalled_Loki_and_run_again_delivers_every_entry_once()
    {
        const int count = 30_000;
        var directory = WriteWal("orders", "orders-1", 0, count);
        // Two requests are accepted; every later one (the drain's two slots, and their retries once an attempt times
        // out on a loaded machine) is held and never answered: a request the interrupted drain gave up on must not be
        // stored behind its back, or the rerun sends it again.
        const int Held = 50;
        var never = new TaskCompletionSource().Task;
        _server.Enqueue([ScriptedResponse.Stall(Task.CompletedTask), ScriptedResponse.Stall(Task.CompletedTask), .. Enumerable.Repeat(ScriptedResponse.Stall(never), Held)]);
        using var interrupt = new CancellationTokenSource();

        var first = CliRunner.RunAsync(null, ["drain", directory, "--loki", _server.BaseAddress.ToString(), "--json"], cancellation: interrupt.Token);

        // Interrupted with requests held and what Loki accepted acknowledged: a batch accepted but not yet
        // acknowledged would be sent again by the rerun, and one larger than Loki's head block stored twice.
        await Ship.WaitForAsync(() => _server.QueuedScripts <= Held - 2 && InFlight.StoredPastCheckpoint(_server, directory) == 0, "two batches accepted and acknowledged, the next ones held");
        await interrupt.CancelAsync();
        var interrupted = await first;
        _server.ClearScripts();
        var deliveredBeforeRerun = _server.EntryCount;

        Assert.Equal(1, interrupted.ExitCode);
        Assert.Equal("interrupted", Status(interrupted.Output));
        Assert.InRange(deliveredBeforeRerun, 1, count - 1);
        Assert.NotEmpty(Directory.GetFiles(directory, SegmentNames.SearchPattern));

        var second = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(0, second.ExitCode);
        Assert.Equal("drained", Status(second.Output));
        var sequences = Ship.Sequences(_server.Entries);
        Assert.Equal(count, sequences.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), sequences.Order());
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task Drain_refuses_a_directory_held_by_a_live_writer_and_leaves_it_alone()
    {
        var directory = WriteWal("api", "api-0", 0, 10);
        using var live = WriteAheadLog.Open(Wals.Options(directory));
        var before = Directory.GetFiles(directory).Order().ToArray();

        var result = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("locked", result.Output, StringComparison.Ordinal);
        Assert.Equal(0, _server.EntryCount);
        Assert.Equal(before, Directory.GetFiles(directory).Order().ToArray());
    }

    [Fact]
    public async Task Drain_all_ships_each_instance_under_its_own_labels_and_skips_live_ones()
    {
        var a = WriteWal("worker", "worker-a", 0, 100);
        var b = WriteWal("worker", "worker-b", 100, 100);
        var held = WriteWal("worker", "worker-c", 200, 100);
        using var live = WriteAheadLog.Open(Wals.Options(held));

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Path, "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var statuses = json.RootElement.GetProperty("directories").EnumerateArray()
            .ToDictionary(d => Path.GetFileName(d.GetProperty("directory").GetString()!), d => d.GetProperty("status").GetString());
        Assert.Equal("drained", statuses["worker-a"]);
        Assert.Equal("drained", statuses["worker-b"]);
        Assert.Equal("held", statuses["worker-c"]);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), Ship.Sequences(_server.Entries.Where(e => e.LabelMap["pod"] == "worker-a")).Order());
        Assert.Equal(Enumerable.Range(100, 100).Select(i => (long)i), Ship.Sequences(_server.Entries.Where(e => e.LabelMap["pod"] == "worker-b")).Order());
        Assert.NotEmpty(Directory.GetFiles(held, SegmentNames.SearchPattern));
        Assert.False(Directory.Exists(a));
        Assert.False(Directory.Exists(b));
    }

    [Fact]
    public async Task Drain_of_a_directory_without_a_stream_description_uses_the_labels_its_path_implies()
    {
        var directory = WriteWal("payments", "payments-3", 0, 5);
        File.Delete(Path.Combine(directory, StreamDescription.FileName));

        var result = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("labels its path implies", result.Error, StringComparison.Ordinal);
        Assert.All(_server.Entries, e =>
        {
            Assert.Equal("payments", e.LabelMap["service_name"]);
            Assert.Equal("payments-3", e.LabelMap["pod"]);
            Assert.Equal("staging", e.LabelMap["namespace"]);
        });
        Assert.Equal(5, _server.EntryCount);
    }

    [Fact]
    public async Task Drain_counts_entries_Loki_refuses_for_good_and_exits_with_problems()
    {
        var directory = WriteWal("api", "api-1", 0, 3);
        _server.Enqueue(ScriptedResponse.Status(400, "entry for stream '{pod=\"api-1\"}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z"));

        var result = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var drained = json.RootElement.GetProperty("directories")[0];
        Assert.Equal("drained", drained.GetProperty("status").GetString());
        Assert.True(drained.GetProperty("refused").GetInt64() > 0);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task Drain_against_an_unreachable_Loki_stops_at_its_timeout_says_why_and_keeps_everything()
    {
        var directory = WriteWal("api", "api-4", 0, 20);
        var segments = Directory.GetFiles(directory, SegmentNames.SearchPattern).Order().ToArray();
        await _server.StopAsync();

        var result = await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString(), "--timeout", "1500ms", "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var drained = json.RootElement.GetProperty("directories")[0];
        Assert.Equal("interrupted", drained.GetProperty("status").GetString());
        Assert.Contains("last error", drained.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(segments, Directory.GetFiles(directory, SegmentNames.SearchPattern).Order());
        await _server.RestartAsync();
        Assert.Equal(0, (await CliRunner.RunAsync("drain", directory, "--loki", _server.BaseAddress.ToString())).ExitCode);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
    }

    [Theory]
    [InlineData("drain")]
    [InlineData("drain", "{dir}", "--all", "{root}")]
    [InlineData("drain", "{dir}", "--timeout", "soon")]
    [InlineData("drain", "{root}/missing")]
    [InlineData("drain", "{root}")]
    public async Task Drain_usage_errors_exit_2(params string[] args)
    {
        var directory = WriteWal("api", "api-2", 0, 1);
        var expanded = args.Select(a => a.Replace("{dir}", directory, StringComparison.Ordinal).Replace("{root}", _temp.Combine("empty"), StringComparison.Ordinal)).ToList();
        Directory.CreateDirectory(_temp.Combine("empty"));
        expanded.AddRange(["--loki", _server.BaseAddress.ToString()]);

        var result = await CliRunner.RunAsync([.. expanded]);

        Assert.Equal(2, result.ExitCode);
        Assert.NotEmpty(result.Error);
        Assert.Equal(0, _server.EntryCount);
    }

    [Fact]
    public async Task Drain_all_of_a_root_without_any_WAL_says_so_and_exits_with_problems()
    {
        Directory.CreateDirectory(_temp.Combine("volume", "lost+found"));
        Directory.CreateDirectory(_temp.Combine("volume", "shop", "orders"));

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Combine("volume"), "--loki", _server.BaseAddress.ToString());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No WAL directory found", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_without_a_Loki_URL_is_a_usage_error()
    {
        var directory = WriteWal("api", "api-3", 0, 1);

        var result = await CliRunner.RunAsync("drain", directory);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("LOKI_URL", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_all_finishes_an_adoption_a_gone_pod_left_and_removes_it_with_its_claims()
    {
        // worker-a's WAL was claimed (epoch 2, after a dead claim 1) and moved, and its adopter went away.
        var source = WriteWal("worker", "worker-a", 0, 100);
        var area = Path.Combine(Path.GetDirectoryName(source)!, AdoptionArea.DirectoryName);
        Directory.CreateDirectory(area);
        var moved = Path.Combine(area, AdoptionArea.AdoptedName("worker-a", 2));
        Directory.Move(source, moved);
        File.WriteAllText(Path.Combine(area, AdoptionArea.ClaimName("worker-a", 1)), "adopted_by=worker-x\n");
        File.WriteAllText(Path.Combine(area, AdoptionArea.ClaimName("worker-a", 2)), "adopted_by=worker-y\n");

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Path, "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("drained", Status(result.Output));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
        Assert.All(_server.Entries, e => Assert.Equal("worker-a", e.LabelMap["pod"]));
        Assert.Empty(Directory.EnumerateFileSystemEntries(area));
    }

    [Fact]
    public async Task Drain_leaves_a_directory_whose_owner_record_is_still_renewed_even_when_its_lock_is_free()
    {
        var renewed = WriteWal("worker", "worker-a", 0, 10);
        var dead = WriteWal("worker", "worker-b", 10, 10);
        var fileSystem = new System.IO.Abstractions.FileSystem();

        // worker-b was killed: its record still says live, and stops changing. worker-a's holder is on a
        // node whose lock this one cannot see: the lock is free, but the record keeps changing.
        var record = new OwnerRecord { Token = "b", Pod = "worker-b", Lease = TimeSpan.FromSeconds(1) };
        record.Write(fileSystem, dead);
        using var stop = new CancellationTokenSource();
        // A thread of its own, beating every 20 ms against a 3 s lease: a pool thread starved by a loaded
        // machine could miss a whole lease and read as a gone holder.
        var heartbeat = Task.Factory.StartNew(
            () =>
            {
                for (var beat = 0; !stop.IsCancellationRequested; beat++)
                {
                    new OwnerRecord { Token = "a", Pod = "worker-a", Node = "node-9", Heartbeat = beat, Lease = TimeSpan.FromSeconds(3) }.Write(fileSystem, renewed);
                    stop.Token.WaitHandle.WaitOne(20);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        while (!File.ReadAllText(Path.Combine(renewed, OwnerRecord.FileName)).Contains("token=a", StringComparison.Ordinal))
        {
            await Task.Delay(10);
        }

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Path, "--loki", _server.BaseAddress.ToString(), "--json");
        await stop.CancelAsync();
        await heartbeat;

        using var json = JsonDocument.Parse(result.Output);
        var byName = json.RootElement.GetProperty("directories").EnumerateArray()
            .ToDictionary(d => Path.GetFileName(d.GetProperty("directory").GetString()!), d => d);
        Assert.Equal("held", byName["worker-a"].GetProperty("status").GetString());
        Assert.Contains("renewed by a live holder (pod worker-a on node node-9", byName["worker-a"].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("drained", byName["worker-b"].GetProperty("status").GetString());
        Assert.NotEmpty(Directory.GetFiles(renewed, SegmentNames.SearchPattern));
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
    }

    private static string? Status(string jsonOutput)
    {
        using var json = JsonDocument.Parse(jsonOutput);
        return json.RootElement.GetProperty("directories")[0].GetProperty("status").GetString();
    }

    /// <summary>Writes entries <paramref name="from"/>.. through a WAL-only pipeline, as an application would, and closes it.</summary>
    private string WriteWal(string service, string instance, long from, int count)
    {
        var options = new LogPersistOptions
        {
            Directory = _temp.Path,
            ServiceName = service,
            Instance = instance,
            LokiUrl = "",
            SegmentBytes = 1 << 20,
            MaxDiskBytes = 64 << 20,
            Labels = { ["env"] = "prod" },
            Environment = name => name == "POD_NAMESPACE" ? "staging" : null,
        };
        using var pipeline = LogPipeline.Open(options);
        var encoder = new EntryEncoder();
        for (var i = from; i < from + count; i++)
        {
            Assert.True(pipeline.Append(encoder.Encode(Ship.Entry(i))));
        }

        return pipeline.Directory;
    }
}
