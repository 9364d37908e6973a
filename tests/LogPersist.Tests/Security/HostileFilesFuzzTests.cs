using System.IO.Abstractions;
using LogPersist.Cli.Draining;
using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Cli;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Ship = LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Security;

/// <summary>
/// Random bytes, cut copies, flipped bits, links and directories in place of each file of a WAL
/// directory (control files and segments), fed to the reader, the recovery scan, the damage scan of
/// <c>inspect</c> and <c>verify</c>, the <c>--all</c> search and a drain: nothing hangs, nothing throws out
/// of them, and nothing that is not a WAL file — a note in the WAL directory, a model folder beside
/// it, a file a link points to — is ever deleted or changed. A fixed seed and a fixed number of cases.
/// </summary>
public sealed class HostileFilesFuzzTests : IAsyncLifetime
{
    private const int Seed = 17_2026;
    private const int Cases = 36;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private static readonly string[] Targets = [Checkpoint.FileName, OwnerRecord.FileName, StreamDescription.FileName, DirectoryLock.LockFileName, "segment", "segment", "claim", "new segment"];
    private readonly TempDirectory _temp = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task Hostile_bytes_in_any_WAL_file_never_hang_crash_or_cost_a_file_that_is_not_LogPersists()
    {
        var random = new Random(Seed);
        for (var i = 0; i < Cases; i++)
        {
            var target = Targets[i % Targets.Length];
            var mutation = random.Next(6);
            await RunCaseAsync(random, i, target, mutation);
        }
    }

    private async Task RunCaseAsync(Random random, int number, string target, int mutation)
    {
        var what = $"case {number}: {target}, mutation {mutation}";
        var caseRoot = _temp.Combine("case-" + number);
        var volume = Path.Combine(caseRoot, "volume");
        var wal = WriteWal(volume, "pod-" + number, random.Next(20, 120));
        var victim = Path.Combine(caseRoot, "victim.txt");
        File.WriteAllText(victim, "precious\n");
        File.WriteAllText(Path.Combine(wal, "notes.txt"), "mine");
        var models = Path.Combine(volume, "shop", "trainer", "run-1");
        Directory.CreateDirectory(models);
        File.WriteAllText(Path.Combine(models, Checkpoint.FileName), "model_checkpoint_path: \"ckpt-10\"\n");
        File.WriteAllBytes(Path.Combine(models, "weights.bin"), new byte[1000]);

        Mutate(random, wal, victim, target, mutation);
        var outside = Snapshot(caseRoot, wal);

        await Planted.WithinAsync(Limit, () =>
        {
            using (var reader = new WalReader(new FileSystem(), wal, WalPosition.Start, long.MaxValue))
            {
                while (reader.TryRead(out _))
                {
                }
            }

            var segments = Directory.EnumerateFiles(wal, SegmentNames.SearchPattern)
                .Select(p => SegmentNames.TryParse(Path.GetFileName(p), out var s) ? s : 0)
                .Where(s => s > 0).Order().ToArray();
            Recovery.Scan(new FileSystem(), wal, segments, WalPosition.Start, null);
            var found = WalDrainables(volume);
            Assert.DoesNotContain(models, found);
            return true;
        });

        foreach (var command in new[] { "inspect", "verify" })
        {
            var result = await Planted.WithinAsync(Limit, () => CliRunner.RunAsync(command, wal, "--json").GetAwaiter().GetResult());
            Assert.True(result.ExitCode is 0 or 1 or 2, $"{what}: {command} exited {result.ExitCode}: {result.Error}");
        }

        var shipping = Ship.Options(_server.BaseAddress);
        if (!StreamDescription.TryLoad(new FileSystem(), wal, out var description, out _))
        {
            description = StreamDescription.FromPath(wal);
        }

        description.ApplyTo(shipping);
        using var stop = new CancellationTokenSource(Limit);
        var drained = await WalDrain.RunAsync(new System.IO.Abstractions.FileSystem(), wal, shipping, null, TimeProvider.System, null, TimeSpan.FromSeconds(1), stop.Token, removeDirectory: true).WaitAsync(Limit + Limit);
        Assert.NotEqual(DrainStatus.Interrupted, drained.Status);

        Assert.Equal("precious\n", File.ReadAllText(victim));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(wal, "notes.txt")));
        Assert.Equal(outside, Snapshot(caseRoot, wal));
    }

    private static List<string> WalDrainables(string volume) => [.. WalDirectories.Under(new System.IO.Abstractions.FileSystem(), volume, out _)];

    private static void Mutate(Random random, string wal, string victim, string target, int mutation)
    {
        string path;
        switch (target)
        {
            case "segment":
                var segments = Directory.GetFiles(wal, SegmentNames.SearchPattern).Order(StringComparer.Ordinal).ToArray();
                path = segments[random.Next(segments.Length)];
                break;
            case "new segment":
                path = Path.Combine(wal, SegmentNames.FileName(1000 + random.Next(1000)));
                break;
            case "claim":
                var area = Path.Combine(Path.GetDirectoryName(wal)!, AdoptionArea.DirectoryName);
                Directory.CreateDirectory(area);
                path = Path.Combine(area, AdoptionArea.ClaimName(Path.GetFileName(wal), 1 + random.Next(5)));
                File.WriteAllText(path, "adopted_by=someone\n");
                break;
            default:
                path = Path.Combine(wal, target);
                break;
        }

        var original = File.Exists(path) ? File.ReadAllBytes(path) : [];
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        switch (mutation)
        {
            case 0:
                // Random bytes, from nothing to far more than a control file may hold.
                var length = random.Next(4) switch { 0 => 0, 1 => random.Next(1, 64), 2 => random.Next(64, 4096), _ => random.Next(64 * 1024, 256 * 1024) };
                File.WriteAllBytes(path, RandomBytes(random, length));
                break;
            case 1:
                // A cut copy.
                File.WriteAllBytes(path, original[..random.Next(original.Length + 1)]);
                break;
            case 2:
                // Flipped bits, in the header and in the records.
                var flipped = original.Length > 0 ? original : RandomBytes(random, 4096);
                for (var i = 0; i < 1 + random.Next(32); i++)
                {
                    var at = random.Next(Math.Min(flipped.Length, random.Next(2) == 0 ? 128 : flipped.Length));
                    flipped[at] ^= (byte)(1 << random.Next(8));
                }

                File.WriteAllBytes(path, flipped);
                break;
            case 3:
                // A link to someone else's file.
                File.CreateSymbolicLink(path, victim);
                break;
            case 4:
                // A directory under the name.
                Directory.CreateDirectory(path);
                break;
            default:
                // Record-shaped junk after a copied header: plausible lengths and kinds with wrong checksums.
                var junk = original.Length >= 64 ? original : RandomBytes(random, 8192);
                for (var offset = 64; offset + 16 <= junk.Length; offset += 8 * (1 + random.Next(4)))
                {
                    BitConverter.TryWriteBytes(junk.AsSpan(offset), (uint)random.Next(1, junk.Length - offset));
                    BitConverter.TryWriteBytes(junk.AsSpan(offset + 4), random.Next());
                    junk[offset + 8] = (byte)random.Next(1, 4);
                    junk.AsSpan(offset + 9, 7).Clear();
                }

                File.WriteAllBytes(path, junk);
                break;
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Every file and directory under <paramref name="root"/> outside the WAL directory and its service's adoption area, with sizes and contents' hash.</summary>
    private static string Snapshot(string root, string wal)
    {
        var area = Path.Combine(Path.GetDirectoryName(wal)!, AdoptionArea.DirectoryName);
        return string.Join("\n", new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(i => !i.FullName.StartsWith(wal, StringComparison.Ordinal) && !i.FullName.StartsWith(area, StringComparison.Ordinal))
            .Select(i => $"{Path.GetRelativePath(root, i.FullName)} {(i is FileInfo f && f.LinkTarget is null ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f.FullName))) : "-")}")
            .Order(StringComparer.Ordinal));
    }

    private static string WriteWal(string volume, string instance, int count)
    {
        var options = new LogPersistOptions
        {
            Directory = volume,
            ServiceName = "worker",
            Instance = instance,
            LokiUrl = "",
            SegmentBytes = 8192,
            MaxDiskBytes = 1 << 22,
            Environment = name => name == "POD_NAMESPACE" ? "shop" : null,
        };
        using var pipeline = LogPipeline.Open(options);
        var encoder = new EntryEncoder();
        for (var i = 0; i < count; i++)
        {
            Assert.True(pipeline.Append(encoder.Encode(Ship.Entry(i))));
        }

        return pipeline.Directory;
    }
}
