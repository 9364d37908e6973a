using System.Diagnostics;
using System.Globalization;
using LogPersist.Kubernetes;
using LogPersist.KubernetesTestServer;
using LogPersist.Pipeline;
using LogPersist.Wal.Ownership;

namespace LogPersist.Benchmarks;

/// <summary>
/// How soon a dead pod's WAL moves, by the lease and by Kubernetes liveness. A directory holding ENTRIES
/// entries has an owner record naming pod <c>gone-0</c> and its UID, renewed every 5 s (the default
/// heartbeat) while "the pod runs". A sibling with adoption on, the default lease (30 s) and scan interval
/// (10 s ± 20 %) runs for 15 s; then the pod dies: the renewals stop and, in the Kubernetes mode, the pod
/// is deleted from a fake API server at the same moment. Reports the time from that moment to the claim
/// and to the last acknowledgement by the Loki test server (a separate process).
/// </summary>
internal static class AdoptionLivenessHarness
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Running = TimeSpan.FromSeconds(15);

    public static int Run(int entries, int rounds)
    {
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var kubernetes in (bool[])[false, true])
            {
                var (claim, acknowledged) = Measure(entries, kubernetes).GetAwaiter().GetResult();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round} {(kubernetes ? "kubernetes" : "lease"),-10}: {entries:N0} entries; death to claim {claim.TotalSeconds:F1} s; death to all acknowledged {acknowledged.TotalSeconds:F1} s"));
            }
        }

        return 0;
    }

    private static async Task<(TimeSpan Claim, TimeSpan Acknowledged)> Measure(int entries, bool kubernetes)
    {
        var root = Path.Combine(Path.GetTempPath(), "logpersist-liveness-" + Guid.NewGuid().ToString("N"));
        var orphan = Path.Combine(root, "default", "bench", "gone-0");
        using var server = ShippingHarness.StartServer(out var endpoint);
        await using var api = await FakeKubernetesApi.StartAsync();
        try
        {
            ShippingHarness.Fill(orphan, entries);
            var fileSystem = new System.IO.Abstractions.FileSystem();
            var record = new OwnerRecord { Token = "gone", Pod = "gone-0", PodUid = api.Add("gone-0"), Node = "node-1", Lease = TimeSpan.FromSeconds(30) };
            record.Write(fileSystem, orphan);
            var liveUid = api.Add("live-0");
            var options = new LogPersistOptions
            {
                Directory = root,
                ServiceName = "bench",
                Instance = "live-0",
                LokiUrl = endpoint.ToString(),
                AdoptOrphans = true,
            };
            if (kubernetes)
            {
                options.UseKubernetesLiveness(new KubernetesLivenessOptions
                {
                    Configuration = () => new k8s.KubernetesClientConfiguration { Host = api.BaseAddress.ToString() },
                    Environment = name => name switch { "POD_NAME" => "live-0", "POD_UID" => liveUid, _ => null },
                });
            }

            using var live = LogPipeline.Open(options);

            // The pod runs: its record is renewed on the heartbeat.
            var running = Stopwatch.StartNew();
            while (running.Elapsed < Running)
            {
                record = record with { Heartbeat = record.Heartbeat + 1 };
                record.Write(fileSystem, orphan);
                Thread.Sleep(Heartbeat);
            }

            if (!Directory.Exists(orphan))
            {
                throw new InvalidOperationException("A running pod's WAL was adopted.");
            }

            // The pod dies: no more renewals, and the API server deletes it.
            var death = Stopwatch.StartNew();
            if (kubernetes)
            {
                api.Delete("gone-0");
            }

            while (Directory.Exists(orphan))
            {
                Thread.Sleep(10);
            }

            var claimed = death.Elapsed;
            while (live.Adopter!.ShippedEntries < entries)
            {
                Thread.Sleep(5);
            }

            return (claimed, death.Elapsed);
        }
        finally
        {
            server.Kill();
            Directory.Delete(root, recursive: true);
        }
    }
}
