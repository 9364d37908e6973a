using System.Diagnostics;
using System.Globalization;
using LogPersist.Entries;
using LogPersist.Kubernetes;
using LogPersist.KubernetesTestServer;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog;
using Xunit.Abstractions;
using static LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Adoption;

/// <summary>
/// Instances of one service sharing a volume: a killed instance's WAL is found, claimed and shipped by
/// a live sibling, exactly once, under the dead instance's labels.
/// </summary>
public sealed class AdoptionTests(ITestOutputHelper output)
{
    private const string Service = "orders";

    /// <summary>Nothing listens there: the instance logs while Loki is unreachable.</summary>
    private const string NoLoki = "http://127.0.0.1:1/";

    [Fact]
    public async Task A_killed_instance_is_adopted_by_a_sibling_and_every_returned_entry_reaches_Loki_once_under_its_own_pod()
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1" });

        // A logs while the server is down, and is killed before it could ship anything.
        await server.StopAsync();
        var returned = RunAndKill(root, "orders-a", first: 1, atLeast: 5_000, loki: server.BaseAddress.ToString());
        var orphan = InstanceDirectory(root, "orders-a");
        Assert.True(Directory.Exists(orphan));
        await server.RestartAsync();

        var started = Stopwatch.StartNew();
        await using (var b = LogPipeline.Open(Options(root, "orders-b", server.BaseAddress.ToString(), adopt: true)))
        {
            await WaitForAsync(() => b.Adopter!.Adopted == 1, "the orphan to be shipped and deleted");
            output.WriteLine($"{returned.Count} entries adopted and shipped {started.Elapsed.TotalSeconds:0.0} s after the adopter started");
        }

        var stored = server.Entries.Where(e => e.LabelMap["pod"] == "orders-a").ToList();
        AssertExactlyOnce(returned, Sequences(stored), server);
        Assert.All(stored, e => Assert.Equal("orders", e.LabelMap["service_name"]));
        Assert.All(stored, e => Assert.Contains(new KeyValuePair<string, string>("adopted_by", "orders-b"), e.StructuredMetadata));
        Assert.DoesNotContain(server.Entries, e => e.LabelMap.ContainsKey("adopted_by"));
        Assert.False(Directory.Exists(orphan));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root.Combine("default", Service, AdoptionArea.DirectoryName)));
    }

    /// <summary>With Kubernetes liveness, the orphans' pods are unknown to the API server and the adopters' pods exist.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Adopters_racing_for_the_same_orphans_ship_each_one_exactly_once(bool kubernetesLiveness)
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1" });
        await using var api = await FakeKubernetesApi.StartAsync();
        var expected = WriteOrphans(root);
        var adopters = Enumerable.Range(0, 4)
            .Select(i => LogPipeline.Open(WithLiveness(Options(root, $"live-{i}", server.BaseAddress.ToString(), adopt: true), kubernetesLiveness ? api : null)))
            .ToList();
        try
        {
            await WaitForAsync(() => adopters.Sum(a => a.Adopter!.Adopted) >= Orphans, "every orphan to be shipped");
            await WaitForAsync(() => server.EntryCount >= expected.Count, "every entry to arrive");
            Assert.Equal(Orphans, adopters.Sum(a => a.Adopter!.Adopted));
            Assert.All(adopters, a => Assert.Null(a.Adopter!.LivenessFallback));
        }
        finally
        {
            foreach (var adopter in adopters)
            {
                await adopter.DisposeAsync();
            }
        }

        // The API server was asked about every orphan's pod in that mode, and about none in the other.
        Assert.All(Enumerable.Range(0, Orphans), i => Assert.Equal(kubernetesLiveness, api.Reads($"gone-{i}") > 0));
        var winners = AssertEachOrphanShippedOnceByOneAdopter(root, expected, server);
        output.WriteLine("orphans by adopter: " + string.Join(", ", winners.GroupBy(w => w).Select(g => $"{g.Key}={g.Count()}")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Adopter_processes_racing_for_the_same_orphans_ship_each_one_exactly_once(bool kubernetesLiveness)
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1" });
        await using var api = await FakeKubernetesApi.StartAsync();
        var expected = WriteOrphans(root);
        var adopters = Enumerable.Range(0, 3)
            .Select(i =>
            {
                // With liveness, each adopter process is a pod the API server has, of UID uid-{instance}.
                object[] liveness = kubernetesLiveness ? [api.BaseAddress] : [];
                if (kubernetesLiveness)
                {
                    api.Add($"live-{i}", $"uid-live-{i}");
                }

                return CrashHelperProcess.Start(["pipeline", root.Path, Service, $"live-{i}", server.BaseAddress, 1, 0, "adopt", .. liveness]);
            })
            .ToList();
        try
        {
            adopters.ForEach(a => a.WaitForReady(Patience));
            await WaitForAsync(
                () => server.EntryCount >= expected.Count && Enumerable.Range(0, Orphans).All(i => !Directory.Exists(InstanceDirectory(root, $"gone-{i}"))),
                "every orphan to be shipped by the adopter processes");
            await WaitForAsync(() => !Directory.EnumerateFileSystemEntries(root.Combine("default", Service, AdoptionArea.DirectoryName)).Any(), "the adoption area to be empty");
        }
        finally
        {
            adopters.ForEach(a => a.Kill());
            adopters.ForEach(a => a.Dispose());
        }

        Assert.All(Enumerable.Range(0, Orphans), i => Assert.Equal(kubernetesLiveness, api.Reads($"gone-{i}") > 0));
        var winners = AssertEachOrphanShippedOnceByOneAdopter(root, expected, server);
        output.WriteLine("orphans by adopter: " + string.Join(", ", winners.GroupBy(w => w).Select(g => $"{g.Key}={g.Count()}")));
    }

    [Fact]
    public async Task An_adoption_whose_adopter_died_is_resumed_by_the_next_adopter()
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1" });
        using (var orphan = LogPipeline.Open(Options(root, "gone-0", NoLoki, adopt: false, flushTimeout: TimeSpan.Zero)))
        {
            Log(orphan, 1, 2_000);
        }

        // B claims and moves the orphan, cannot ship it (Loki is down), and is killed.
        await server.StopAsync();
        var area = root.Combine("default", Service, AdoptionArea.DirectoryName);
        using (var b = CrashHelperProcess.Start("pipeline", root.Path, Service, "live-b", server.BaseAddress, 1, 0, "adopt"))
        {
            b.WaitForReady(Patience);
            await WaitForAsync(() => Directory.Exists(Path.Combine(area, AdoptionArea.AdoptedName("gone-0", 1))), "the first adopter's claim and move");
            b.Kill();
        }

        await server.RestartAsync();
        await using (var c = LogPipeline.Open(Options(root, "live-c", server.BaseAddress.ToString(), adopt: true)))
        {
            await WaitForAsync(() => server.EntryCount >= 2_000 && !Directory.EnumerateDirectories(area, "gone-0.*").Any(), "the adoption to be resumed and finished");
        }

        AssertExactlyOnce(Enumerable.Range(1, 2_000).Select(n => (long)n).ToHashSet(), Sequences(server.Entries.Where(e => e.LabelMap["pod"] == "gone-0")), server);
        Assert.All(server.Entries.Where(e => e.LabelMap["pod"] == "gone-0"), e => Assert.Contains(new KeyValuePair<string, string>("adopted_by", "live-c"), e.StructuredMetadata));
        Assert.Empty(Directory.EnumerateFiles(area, "gone-0.*"));
    }

    [Fact]
    public async Task An_owner_returning_while_its_old_WAL_is_adopted_loses_nothing_and_sends_nothing_twice()
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync();
        var returned = RunAndKill(root, "orders-a", first: 1, atLeast: 40_000);

        // The owner comes back under the same name while the adopter still holds the old WAL (it keeps
        // reading for a lease after the move: 5 s here).
        await using var b = LogPipeline.Open(Options(root, "orders-b", server.BaseAddress.ToString(), adopt: true, lease: TimeSpan.FromSeconds(5)));
        await WaitForAsync(() => Directory.Exists(root.Combine("default", Service, AdoptionArea.DirectoryName, AdoptionArea.AdoptedName("orders-a", 1))), "the claim and the move");
        using (var back = CrashHelperProcess.Start("pipeline", root.Path, Service, "orders-a", server.BaseAddress, 1_000_001, 5_000))
        {
            back.WaitForReady(Patience);
            Assert.Equal(0, b.Adopter!.Adopted);
            back.WaitUntil(lines => lines.Contains("LOGGED"), "its log calls to return while the old WAL is adopted", Patience);
            foreach (var sequence in Reported(back))
            {
                returned.Add(sequence);
            }

            await WaitForAsync(() => b.Adopter!.Adopted == 1 && server.EntryCount >= returned.Count, "both WALs to be shipped");
            back.Kill();
        }

        AssertExactlyOnce(returned, Sequences(server.Entries.Where(e => e.LabelMap["pod"] == "orders-a")), server);
    }

    [Fact]
    public async Task A_live_owner_whose_record_was_just_renewed_is_never_adopted()
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync();
        await using var a = LogPipeline.Open(Options(root, "orders-a", server.BaseAddress.ToString(), adopt: false));
        Log(a, 1, 100);
        await using var b = LogPipeline.Open(Options(root, "orders-b", server.BaseAddress.ToString(), adopt: true));

        // Many leases of scanning: the heartbeat keeps the record changing, so it is never taken.
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(200);
            await b.Adopter!.ScanOnceAsync();
        }

        Assert.Equal(0, b.Adopter!.Adopted);
        Assert.True(Directory.Exists(InstanceDirectory(root, "orders-a")));
        Assert.False(a.Wal.IsFenced);
        var area = root.Combine("default", Service, AdoptionArea.DirectoryName);
        Assert.False(Directory.Exists(area) && Directory.EnumerateFileSystemEntries(area).Any());
    }

    [Fact]
    public async Task A_record_renewed_between_two_scans_resets_the_wait_on_the_adopters_clock()
    {
        using var root = new TempDirectory();
        var fileSystem = new System.IO.Abstractions.FileSystem();
        var time = new ManualTime();
        var orphan = InstanceDirectory(root, "orders-a");
        Directory.CreateDirectory(orphan);
        var record = new OwnerRecord { Token = "a", Pod = "orders-a", Lease = TimeSpan.FromSeconds(30) };
        record.Write(fileSystem, orphan);
        var adopter = new LogPersist.Adoption.OrphanAdopter(new LogPersist.Adoption.AdoptionOptions
        {
            OwnDirectory = InstanceDirectory(root, "orders-b"),
            Shipping = () => throw new InvalidOperationException("shipping is not part of this test"),
            AdoptedBy = "orders-b",
            TimeProvider = time,
        });

        await adopter.ScanOnceAsync();
        time.Advance(TimeSpan.FromSeconds(29));
        (record with { Heartbeat = 1 }).Write(fileSystem, orphan);
        time.Advance(TimeSpan.FromSeconds(29));

        // 58 s since the first look, but the record has changed since: the wait starts again from this look.
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(orphan));
        time.Advance(TimeSpan.FromSeconds(29));
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(orphan));

        // Seen unchanged for longer than the lease: now it is claimed and moved.
        time.Advance(TimeSpan.FromSeconds(2));
        await adopter.ScanOnceAsync();
        Assert.False(Directory.Exists(orphan));
        var area = root.Combine("default", Service, AdoptionArea.DirectoryName);
        Assert.True(Directory.Exists(Path.Combine(area, AdoptionArea.AdoptedName("orders-a", 1))));
        Assert.Contains("adopted_by=orders-b", File.ReadAllText(Path.Combine(area, AdoptionArea.ClaimName("orders-a", 1))), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_writer_whose_directory_was_adopted_is_fenced_and_goes_on_in_a_new_directory()
    {
        using var root = new TempDirectory();
        await using var a = LogPipeline.Open(Options(root, "orders-a", url: null, adopt: false));
        Log(a, 1, 10);
        var fenced = a.Wal;
        var directory = fenced.Directory;

        // What an adopter does once its claim won: the directory moves into the adoption area.
        var adopted = root.Combine("default", Service, AdoptionArea.DirectoryName, AdoptionArea.AdoptedName("orders-a", 1));
        Directory.CreateDirectory(Path.GetDirectoryName(adopted)!);
        Directory.Move(directory, adopted);
        await WaitForAsync(() => fenced.IsFenced && !ReferenceEquals(a.Wal, fenced), "the writer to be fenced and reopen");

        Log(a, 11, 10);
        Assert.False(fenced.Acknowledge(new WalPosition(long.MaxValue / 2, 0)));
        Assert.True(Directory.Exists(directory));
        Assert.Equal(Enumerable.Range(11, 10).Select(n => (long)n), EntrySequences(directory));

        // The fenced WAL let go of its lock and wrote nothing more into the moved directory.
        Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), EntrySequences(adopted));
        using var taken = WriteAheadLog.Open(new WalOptions { Directory = adopted, CreateSegmentOnOpen = false, Lease = new LeaseOptions { AdoptedEpoch = 1 } });
        Assert.Equal(1, OwnerRecord.Parse(File.ReadAllText(Path.Combine(adopted, OwnerRecord.FileName))).Epoch);
    }

    [Fact]
    public async Task An_owner_opening_while_an_adopter_is_between_its_claim_and_its_move_starts_in_a_fresh_directory()
    {
        using var root = new TempDirectory();
        var directory = InstanceDirectory(root, "orders-a");
        using (var before = WriteAheadLog.Open(new WalOptions { Directory = directory }))
        {
            Assert.True(before.Append(Wals.Payload(1)));
        }

        // An adopter has claimed the closed directory and is about to move it.
        var area = root.Combine("default", Service, AdoptionArea.DirectoryName);
        Directory.CreateDirectory(area);
        File.WriteAllText(Path.Combine(area, AdoptionArea.ClaimName("orders-a", 1)), "adopted_by=orders-b\n");
        var adopted = Path.Combine(area, AdoptionArea.AdoptedName("orders-a", 1));
        var move = Task.Run(async () =>
        {
            while (!File.ReadAllText(Path.Combine(directory, OwnerRecord.FileName)).Contains("state=live", StringComparison.Ordinal))
            {
                await Task.Delay(5);
            }

            Directory.Move(directory, adopted);
        });

        using var owner = WriteAheadLog.Open(new WalOptions { Directory = directory });
        await move;
        Assert.True(owner.Append(Wals.Payload(2)));
        Assert.Equal([1L], Wals.DataSequences(Wals.ReadAll(adopted, out var oldReader)));
        oldReader.Dispose();
        Assert.Equal([2L], Wals.DataSequences(Wals.ReadAll(directory, out var newReader)));
        newReader.Dispose();
        Assert.True(owner.Owner.Epoch >= 1);
    }

    [Fact]
    public async Task A_writer_that_finds_another_holders_record_stops_writing_there()
    {
        using var root = new TempDirectory();
        await using var a = LogPipeline.Open(Options(root, "orders-a", url: null, adopt: false));
        Log(a, 1, 10);
        var directory = a.Wal.Directory;
        var record = OwnerRecord.Parse(File.ReadAllText(Path.Combine(directory, OwnerRecord.FileName)));
        (record with { Token = "someone-else", Epoch = record.Epoch + 1, Pod = "orders-a-twin" }).Write(new System.IO.Abstractions.FileSystem(), directory);

        await WaitForAsync(() => a.Wal.IsFenced, "the writer to be fenced");
        await WaitForAsync(() => !a.Append(new EntryEncoder().Encode(new LogEntry { Category = "t", Template = "after" })), "appends to be refused");
        var health = PipelineHealth.Evaluate(a, new HealthThresholds());
        Assert.Equal(HealthState.Unhealthy, health.State);
        Assert.Equal("fenced", health.Data["wal_write_failure"]);
        Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), EntrySequences(directory));
        var twin = OwnerRecord.Parse(File.ReadAllText(Path.Combine(directory, OwnerRecord.FileName)));
        Assert.Equal("orders-a-twin", twin.Pod);

        // Once the other holder has closed the directory, the writer takes it up again.
        (twin with { State = OwnerState.Closed }).Write(new System.IO.Abstractions.FileSystem(), directory);
        await WaitForAsync(() => !a.Wal.IsFenced, "the writer to open the directory again");
        Log(a, 11, 5);
        Assert.Equal(Enumerable.Range(1, 10).Concat(Enumerable.Range(11, 5)).Select(n => (long)n), EntrySequences(directory));
    }

    [Fact]
    public async Task Adoption_is_switched_on_from_configuration_for_the_logging_provider_and_the_Serilog_sink()
    {
        using var root = new TempDirectory();
        await using var server = await TestServer.StartAsync();
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogPersist:Directory"] = root.Path,
            ["Logging:LogPersist:ServiceName"] = Service,
            ["Logging:LogPersist:Instance"] = "mel-0",
            ["Logging:LogPersist:LokiUrl"] = server.BaseAddress.ToString(),
            ["Logging:LogPersist:AdoptOrphans"] = "true",
        }).Build();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddConfiguration(settings.GetSection("Logging")).AddLogPersist());
        await using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("t");
            Assert.NotNull(OpenPipeline(InstanceDirectory(root, "mel-0")).Adopter);
        }

        await using (var logger = new LoggerConfiguration()
            .WriteTo.LogPersist(directory: root.Path, serviceName: Service, instance: "serilog-0", lokiUrl: server.BaseAddress.ToString(), adoptOrphans: true)
            .CreateLogger())
        {
            Assert.NotNull(OpenPipeline(InstanceDirectory(root, "serilog-0")).Adopter);
        }

        await using (var logger = new LoggerConfiguration()
            .WriteTo.LogPersist(directory: root.Path, serviceName: Service, instance: "serilog-1", lokiUrl: server.BaseAddress.ToString())
            .CreateLogger())
        {
            Assert.Null(OpenPipeline(InstanceDirectory(root, "serilog-1")).Adopter);
        }
    }

    private static LogPipeline OpenPipeline(string directory) =>
        PipelineRegistry.Snapshot().Single(p => p.Directory == directory);

    /// <summary>The Seq of every entry in a WAL directory, in order, as the shipper would send them.</summary>
    private static List<long> EntrySequences(string directory)
    {
        var records = Wals.ReadAll(directory, out var reader);
        reader.Dispose();
        using var formatter = new LineFormatter(LineFormat.Json);
        var stored = records.Where(r => r.Kind == RecordKind.Data && EntryView.TryDecode(r.Payload, out _))
            .Select(r =>
            {
                EntryView.TryDecode(r.Payload, out var view);
                return new StoredEntry("", "", new Dictionary<string, string>(), 0, System.Text.Encoding.UTF8.GetString(formatter.Format(view, includeTrace: true)), []);
            });
        return Sequences(stored);
    }

    [Fact]
    public void An_adopted_directory_without_a_saved_description_ships_under_the_labels_of_where_it_came_from()
    {
        var labels = LogPersist.Shipping.StreamDescription.FromPath("/volume/prod/orders/.adoption/orders-a.3").Labels.Labels
            .ToDictionary(l => l.Key, l => l.Value);
        Assert.Equal("orders-a", labels[LogPersist.Loki.EnvironmentLabels.Instance]);
        Assert.Equal("orders", labels[LogPersist.Loki.EnvironmentLabels.ServiceName]);
        Assert.Equal("prod", labels[LogPersist.Loki.EnvironmentLabels.Namespace]);
    }

    [Fact]
    public void A_drained_directory_is_removed_only_while_its_owner_record_is_still_the_drainers()
    {
        using var root = new TempDirectory();
        var fileSystem = new System.IO.Abstractions.FileSystem();
        var quietLease = new LeaseOptions { Duration = TimeSpan.FromHours(2), Heartbeat = TimeSpan.FromHours(1) };
        var mine = InstanceDirectory(root, "orders-a");
        var taken = InstanceDirectory(root, "orders-b");
        var a = WriteAheadLog.Open(new WalOptions { Directory = mine, CreateSegmentOnOpen = false, Lease = quietLease });
        var b = WriteAheadLog.Open(new WalOptions { Directory = taken, CreateSegmentOnOpen = false, Lease = quietLease });

        // Another holder (on a node whose lock this one cannot see) wrote orders-b's record meanwhile.
        new OwnerRecord { Token = "other", Pod = "orders-b-twin" }.Write(fileSystem, taken);

        Assert.True(a.DisposeIfDrained(removeDirectory: true, out _));
        Assert.True(b.DisposeIfDrained(removeDirectory: true, out _));
        Assert.False(Directory.Exists(mine));
        Assert.Equal("orders-b-twin", OwnerRecord.Parse(File.ReadAllText(Path.Combine(taken, OwnerRecord.FileName))).Pod);
        Assert.Equal([taken], Directory.GetFileSystemEntries(root.Combine("default", Service)));
    }

    private const int Orphans = 6, PerOrphan = 500;

    /// <summary>Orphans closed cleanly while Loki was unreachable: their entries wait in the WAL. Returns every Seq written.</summary>
    private static HashSet<long> WriteOrphans(TempDirectory root)
    {
        for (var i = 0; i < Orphans; i++)
        {
            using var orphan = LogPipeline.Open(Options(root, $"gone-{i}", NoLoki, adopt: false, flushTimeout: TimeSpan.Zero, podUid: $"uid-gone-{i}"));
            Log(orphan, (i * 10_000) + 1, PerOrphan);
        }

        return Enumerable.Range(0, Orphans).SelectMany(i => Enumerable.Range((i * 10_000) + 1, PerOrphan).Select(n => (long)n)).ToHashSet();
    }

    /// <summary>Every entry once, each orphan shipped (and removed) by one adopter, named in all its entries. Returns the winners.</summary>
    private static List<string> AssertEachOrphanShippedOnceByOneAdopter(TempDirectory root, HashSet<long> expected, TestServer server)
    {
        AssertExactlyOnce(expected, Sequences(server.Entries), server);
        var winners = new List<string>();
        for (var i = 0; i < Orphans; i++)
        {
            var byAdopter = server.Entries.Where(e => e.LabelMap["pod"] == $"gone-{i}")
                .Select(e => e.StructuredMetadata.Single(m => m.Key == "adopted_by").Value).Distinct().ToList();
            winners.Add(Assert.Single(byAdopter));
            Assert.False(Directory.Exists(InstanceDirectory(root, $"gone-{i}")));
        }

        return winners;
    }

    private static HashSet<long> RunAndKill(TempDirectory root, string instance, long first, int atLeast, string loki = NoLoki)
    {
        using var helper = CrashHelperProcess.Start("pipeline", root.Path, Service, instance, loki, first, 1_000_000);
        helper.WaitUntil(lines => lines.Count > atLeast, $"{atLeast} returned log calls", Patience);
        helper.Kill();
        return Reported(helper);
    }

    private static HashSet<long> Reported(CrashHelperProcess helper) =>
        helper.Lines.Where(l => l.StartsWith("A ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.AsSpan(2), CultureInfo.InvariantCulture))
            .ToHashSet();

    private static void AssertExactlyOnce(IReadOnlySet<long> returned, List<long> stored, TestServer server)
    {
        var duplicates = stored.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, "stored more than once: " + string.Join(", ", duplicates));
        Assert.Equal(0, server.DuplicatesDropped);
        var missing = returned.Except(stored).Take(5).ToList();
        Assert.True(missing.Count == 0, $"{returned.Except(stored).Count()} returned entries never arrived, e.g. " + string.Join(", ", missing));
    }

    private static void Log(LogPipeline pipeline, long first, int count) => Siblings.Log(pipeline, first, count);

    private static string InstanceDirectory(TempDirectory root, string instance) => root.Combine("default", Service, instance);

    /// <summary>
    /// Adoption that asks <paramref name="api"/> whether an owner is gone, where this instance is a pod of
    /// the API server (its UID <c>uid-{instance}</c>); with null, the options as they are (the lease rule).
    /// </summary>
    private static LogPersistOptions WithLiveness(LogPersistOptions options, FakeKubernetesApi? api)
    {
        if (api is null)
        {
            return options;
        }

        var instance = options.Instance!;
        var uid = api.Add(instance, "uid-" + instance);
        return options.UseKubernetesLiveness(new KubernetesLivenessOptions
        {
            Configuration = () => new k8s.KubernetesClientConfiguration { Host = api.BaseAddress.ToString() },
            RetryDelay = TimeSpan.FromMilliseconds(50),
            Environment = name => name switch { "POD_NAME" => instance, "POD_UID" => uid, _ => null },
        });
    }

    /// <summary>The options of a sibling; with <paramref name="podUid"/>, its owner record names its pod and that UID.</summary>
    private static LogPersistOptions Options(TempDirectory root, string instance, string? url, bool adopt, TimeSpan? flushTimeout = null, TimeSpan? lease = null, string? podUid = null) => new()
    {
        Directory = root.Path,
        ServiceName = Service,
        Instance = instance,
        LokiUrl = url,
        AdoptOrphans = adopt,
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 1L << 30,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        FlushTimeout = flushTimeout ?? TimeSpan.FromSeconds(5),
        LeaseDuration = lease ?? TimeSpan.FromSeconds(1),
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        AdoptionScanInterval = TimeSpan.FromMilliseconds(200),
        Environment = name => podUid is null ? null : name switch { "POD_NAME" => instance, "POD_UID" => podUid, _ => null },
    };

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < Patience, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
