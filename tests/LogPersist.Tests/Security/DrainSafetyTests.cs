using System.Text.Json;
using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Cli;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Microsoft.Extensions.Time.Testing;
using Ship = LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Security;

/// <summary>
/// <c>logpersist drain</c> on a volume shared with other teams: it drains WAL directories, and never
/// deletes, moves or follows anything else.
/// </summary>
public sealed class DrainSafetyTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Drain_refuses_a_model_folder_that_has_a_file_named_checkpoint_and_deletes_nothing()
    {
        var folder = ModelFolder(_temp.Combine("training", "run-7"));
        var before = Snapshot(_temp.Path);

        var result = await CliRunner.RunAsync("drain", folder, "--loki", _server.BaseAddress.ToString());

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a LogPersist WAL directory", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(_temp.Path));
    }

    [Fact]
    public async Task Drain_all_drains_the_WALs_and_leaves_model_folders_and_linked_directories_alone()
    {
        var wal = WriteWal("worker", "worker-a", 0, 20);
        ModelFolder(_temp.Combine("volume", "shop", "trainer", "run-7"));
        var elsewhere = ModelFolder(_temp.Combine("elsewhere"));
        File.WriteAllText(Path.Combine(elsewhere, "weights.bin"), "weights");
        Directory.CreateSymbolicLink(_temp.Combine("volume", "shop", "worker", "worker-link"), elsewhere);
        Directory.CreateSymbolicLink(_temp.Combine("volume", "linked-namespace"), elsewhere);
        var others = Snapshot(_temp.Combine("elsewhere")) + Snapshot(_temp.Combine("volume", "shop", "trainer"));

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Combine("volume"), "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var drained = json.RootElement.GetProperty("directories").EnumerateArray().Select(d => d.GetProperty("directory").GetString()).ToList();
        Assert.Equal([wal], drained);
        Assert.False(Directory.Exists(wal));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
        Assert.Equal(others, Snapshot(_temp.Combine("elsewhere")) + Snapshot(_temp.Combine("volume", "shop", "trainer")));
        Assert.Equal("weights", File.ReadAllText(Path.Combine(elsewhere, "weights.bin")));
    }

    [Fact]
    public async Task Drain_ships_a_WAL_that_holds_files_it_did_not_write_deletes_only_its_own_and_keeps_the_rest()
    {
        var wal = WriteWal("worker", "worker-b", 0, 10);
        File.WriteAllText(Path.Combine(wal, "notes.txt"), "mine");
        Directory.CreateDirectory(Path.Combine(wal, "cache"));

        var result = await CliRunner.RunAsync("drain", wal, "--loki", _server.BaseAddress.ToString(), "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
        Assert.Equal(["cache", "notes.txt", DirectoryLock.LockFileName], Directory.EnumerateFileSystemEntries(wal).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(wal, "notes.txt")));
        Assert.Contains("notes.txt", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drain_refuses_a_link_to_a_WAL_directory()
    {
        var wal = WriteWal("worker", "worker-c", 0, 5);
        var link = _temp.Combine("link-to-wal");
        Directory.CreateSymbolicLink(link, wal);
        var before = Snapshot(wal);

        var result = await CliRunner.RunAsync("drain", link, "--loki", _server.BaseAddress.ToString());

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(before, Snapshot(wal));
        Assert.Equal(0, _server.EntryCount);
    }

    [Theory]
    [InlineData("""{"version":1,"labels":{},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""")]
    [InlineData("""{"version":1,"labels":{"pod":"x"},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":1,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""")]
    [InlineData("""{"version":1,"labels":{"pod":"x"},"levelLabel":false,"labelProperties":[],"lineFormat":"99","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""")]
    public async Task Drain_all_ships_a_directory_with_an_invalid_stream_description_under_its_path_labels_and_drains_the_others(string description)
    {
        var good = WriteWal("worker", "worker-a", 0, 10);
        var bad = WriteWal("worker", "worker-b", 100, 10);
        var alsoGood = WriteWal("worker", "worker-c", 200, 10);
        File.WriteAllText(Path.Combine(bad, StreamDescription.FileName), description);

        var result = await CliRunner.RunAsync("drain", "--all", _temp.Combine("volume"), "--loki", _server.BaseAddress.ToString(), "--json", "--timeout", "2m");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("labels its path implies", result.Error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(result.Output);
        Assert.All(json.RootElement.GetProperty("directories").EnumerateArray(), d => Assert.Equal("drained", d.GetProperty("status").GetString()));
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), Ship.Sequences(_server.Entries.Where(e => e.LabelMap["pod"] == "worker-b")).Order());
        Assert.Equal(30, Ship.Sequences(_server.Entries).Count);
        Assert.False(Directory.Exists(good) || Directory.Exists(bad) || Directory.Exists(alsoGood));
    }

    [Fact]
    public async Task A_drain_waits_out_at_most_two_minutes_whatever_lease_the_owner_record_promises()
    {
        var directory = WriteWal("worker", "worker-d", 0, 3);
        var fileSystem = new System.IO.Abstractions.FileSystem();
        new OwnerRecord { Token = "d", Pod = "worker-d", Lease = TimeSpan.FromDays(1) }.Write(fileSystem, directory);
        var time = new FakeTimeProvider();
        var watch = LogPersist.Adoption.RecordWatch.Start(fileSystem, [directory], time);

        var waiting = watch.WaitAsync(directory, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(119));
        Assert.False(waiting.IsCompleted, "still within the longest lease honoured");
        time.Advance(TimeSpan.FromSeconds(2));

        // The record did not change: the directory is not held, after two minutes rather than a day.
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    /// <summary>What a training job leaves: a TensorFlow-style checkpoint index, its data and a note.</summary>
    private static string ModelFolder(string path)
    {
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "checkpoint"), "model_checkpoint_path: \"ckpt-10\"\nall_model_checkpoint_paths: \"ckpt-10\"\n");
        File.WriteAllBytes(Path.Combine(path, "ckpt-10.data-00000-of-00001"), new byte[4096]);
        File.WriteAllText(Path.Combine(path, "notes.txt"), "lr 3e-4");
        return path;
    }

    /// <summary>Every path under <paramref name="root"/> (links not followed) with its size, in order.</summary>
    private static string Snapshot(string root) =>
        string.Join("\n", new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(i => $"{Path.GetRelativePath(root, i.FullName)} {(i is FileInfo f && f.LinkTarget is null ? f.Length : -1)}")
            .Order(StringComparer.Ordinal));

    /// <summary>Writes entries through a WAL-only pipeline under <c>volume/shop</c>, as an application would, and closes it.</summary>
    private string WriteWal(string service, string instance, long from, int count)
    {
        var options = new LogPersistOptions
        {
            Directory = _temp.Combine("volume"),
            ServiceName = service,
            Instance = instance,
            LokiUrl = "",
            SegmentBytes = 1 << 20,
            MaxDiskBytes = 64 << 20,
            Environment = name => name == "POD_NAMESPACE" ? "shop" : null,
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
