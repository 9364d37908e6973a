using LogPersist.Cli.Run.Files;
using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using static LogPersist.Tests.Cli.Run.Files.FollowedLines;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Cli.Run.Files;

/// <summary>
/// Read positions while the shipper deletes the segments that held them: the positions are saved
/// before any segment goes, so a wrapper killed at any moment resumes every file where its WAL ends,
/// even a file whose every entry was shipped and deleted.
/// </summary>
public sealed class FilePositionsShippingTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public async Task A_file_whose_entries_were_all_shipped_and_deleted_resumes_after_a_kill_at_that_moment()
    {
        await using var loki = await TestServer.StartAsync();
        var logs = _temp.Combine("logs");
        Directory.CreateDirectory(logs);
        var a = Path.Combine(logs, "a.log");
        var b = Path.Combine(logs, "b.log");
        Append(a, Make("a", 0, 20));
        var root = _temp.Combine("wal");
        var snapshot = _temp.Combine("snapshot");

        var positions = new FilePositions();
        long killedAt;
        await using (var pipeline = LogPipeline.Open(Options(root, loki.BaseAddress, positions)))
        {
            var follower = new FileFollower(pipeline, [Path.Combine(logs, "*.log")], 4096, TextWriter.Null, positions);
            follower.Start();

            // b's lines fill segment after segment; a's, all in the first, are shipped and deleted.
            Append(b, Make("b", 0, 600));
            Assert.True(await loki.WaitForEntriesAsync(620, Patience), $"Loki holds {loki.EntryCount} of 620 lines.");
            await WaitAsync(() => !File.Exists(Path.Combine(pipeline.Directory, SegmentNames.FileName(1))), "the first segment to be shipped and deleted");

            // What a SIGKILL now leaves: the directory as it is, before any last save of the follower.
            CopyWal(pipeline.Directory, RunHarness.WalDirectory(snapshot));
            killedAt = LogEntry.NowNs(TimeProvider.System);
            await follower.DisposeAsync();
        }

        Assert.DoesNotContain(Make("a", 0, 1)[0], Messages(snapshot));
        var more = (List<string>)[.. Make("a", 20, 5), .. Make("b", 600, 5)];
        Append(a, more.Take(5));
        Append(b, more.Skip(5));

        var again = new FilePositions();
        await using (var pipeline = LogPipeline.Open(Options(snapshot, loki: null, again)))
        {
            var follower = new FileFollower(pipeline, [Path.Combine(logs, "*.log")], 4096, TextWriter.Null, again);
            follower.Start();
            await follower.DisposeAsync();
        }

        // What the restart recorded: exactly the lines written since, none of a's first 20 again.
        var recorded = RunHarness.Entries(snapshot).Where(e => e.TimestampNs > killedAt).Select(e => e.Message);
        Assert.Equal(more.Order(StringComparer.Ordinal), recorded.Order(StringComparer.Ordinal));
    }

    [LinuxFact]
    public async Task Shipping_that_starts_before_the_follower_reads_the_positions_saves_them_before_deleting_their_segment()
    {
        var logs = _temp.Combine("logs");
        Directory.CreateDirectory(logs);
        var a = Path.Combine(logs, "a.log");
        Append(a, Make("a", 0, 20));
        var root = _temp.Combine("wal");

        // A first run without Loki; then only its WAL entries know how far a.log was read.
        var first = new FilePositions();
        await using (var pipeline = LogPipeline.Open(Options(root, loki: null, first)))
        {
            var follower = new FileFollower(pipeline, [a], 4096, TextWriter.Null, first);
            follower.Start();
            await follower.DisposeAsync();
        }

        var side = Path.Combine(RunHarness.WalDirectory(root), FilePositions.FileName);
        File.Delete(side);

        await using var loki = await TestServer.StartAsync();
        var second = new FilePositions();
        await using (var pipeline = LogPipeline.Open(Options(root, loki.BaseAddress, second)))
        {
            // The shipper delivers the first run's segment and deletes it before any follower starts.
            Assert.True(await loki.WaitForEntriesAsync(20, Patience), $"Loki holds {loki.EntryCount} of 20 lines.");
            await WaitAsync(() => !File.Exists(Path.Combine(pipeline.Directory, SegmentNames.FileName(1))), "the first run's segment to be deleted");
            Assert.Contains($" {new FileInfo(a).Length} {a}", File.ReadAllText(side), StringComparison.Ordinal);

            var more = Make("a", 20, 5);
            Append(a, more);
            var follower = new FileFollower(pipeline, [a], 4096, TextWriter.Null, second);
            follower.Start();
            await follower.DisposeAsync();
            Assert.True(await loki.WaitForEntriesAsync(25, Patience), $"Loki holds {loki.EntryCount} of 25 lines.");
        }

        Assert.Equal(Make("a", 0, 25).Order(StringComparer.Ordinal), loki.Entries.Select(e => System.Text.Json.JsonDocument.Parse(e.Line).RootElement.GetProperty("msg").GetString()).Order(StringComparer.Ordinal));
    }

    private static LogPersistOptions Options(string root, Uri? loki, FilePositions positions) => new()
    {
        Directory = root,
        ServiceName = RunHarness.Service,
        Instance = RunHarness.Instance,
        Environment = _ => null,
        LokiUrl = loki?.ToString() ?? "",
        SegmentBytes = 16 * 1024,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        FlushTimeout = TimeSpan.FromSeconds(10),
        LabelProperties = ["component"],
        BeforeForgettingShipped = positions.BeforeForgettingShipped,
    };

    private static List<string> Messages(string root) => [.. RunHarness.Entries(root).Select(e => e.Message)];

    /// <summary>
    /// Copies a live WAL directory's files, without the lock and owner record a killed process would
    /// leave stale. Acknowledgements may still delete segments meanwhile: a copy that loses a file to
    /// one is made again, so it is a state the directory was in.
    /// </summary>
    private static void CopyWal(string from, string to)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (Directory.Exists(to))
            {
                Directory.Delete(to, recursive: true);
            }

            Directory.CreateDirectory(to);
            try
            {
                foreach (var file in Directory.GetFiles(from))
                {
                    var name = Path.GetFileName(file);
                    if (name is not (DirectoryLock.LockFileName or DirectoryLock.OwnerFileName))
                    {
                        File.Copy(file, Path.Combine(to, name));
                    }
                }

                return;
            }
            catch (IOException) when (attempt < 20)
            {
                Thread.Sleep(50);
            }
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"No {what} within {Patience.TotalSeconds} s.");
            await Task.Delay(20);
        }
    }
}
