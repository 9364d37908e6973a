using System.Diagnostics;
using System.Globalization;
using LogPersist.Pipeline;

namespace LogPersist.Benchmarks;

/// <summary>
/// Adoption of a gone instance's WAL: a directory holding ENTRIES entries (about 170-byte JSON lines)
/// and no live holder; a sibling instance with adoption on starts, finds it, claims it and ships it to
/// the Loki test server (a separate process). Reports the time from the sibling's start to the claim
/// (the lease dominates it), from the claim to the last acknowledgement, and to the deleted directory
/// (the adopter keeps reading for one more lease before it deletes), with the default lease,
/// heartbeat and scan interval. The peer is the same entries shipped by an application's own
/// in-process shipper in the same round.
/// </summary>
internal static class AdoptionHarness
{
    public static int Run(int entries, int rounds)
    {
        for (var round = 1; round <= rounds; round++)
        {
            var (detect, ship, delete) = Adopt(entries);
            var peer = DrainHarness.ShipInProcess(entries);
            var adopted = entries / ship.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {entries:N0} entries; start to claim {detect.TotalSeconds:F1} s; claim to all acknowledged {ship.TotalSeconds:F2} s ({adopted:N0} entries/s); claim to directory deleted {delete.TotalSeconds:F1} s; in-process shipper {peer:N0} entries/s; adoption/shipper {adopted / peer:F2}"));
        }

        return 0;
    }

    private static (TimeSpan Detect, TimeSpan Ship, TimeSpan Delete) Adopt(int entries)
    {
        var root = Path.Combine(Path.GetTempPath(), "logpersist-adopt-" + Guid.NewGuid().ToString("N"));
        var orphan = Path.Combine(root, "default", "bench", "gone-0");
        using var server = ShippingHarness.StartServer(out var endpoint);
        try
        {
            ShippingHarness.Fill(orphan, entries);
            var stopwatch = Stopwatch.StartNew();
            using var live = LogPipeline.Open(new LogPersistOptions
            {
                Directory = root,
                ServiceName = "bench",
                Instance = "live-0",
                LokiUrl = endpoint.ToString(),
                AdoptOrphans = true,
            });
            while (Directory.Exists(orphan))
            {
                Thread.Sleep(10);
            }

            var claimed = stopwatch.Elapsed;
            while (live.Adopter!.ShippedEntries < entries)
            {
                Thread.Sleep(5);
            }

            var shipped = stopwatch.Elapsed;
            while (live.Adopter.Adopted == 0)
            {
                Thread.Sleep(5);
            }

            return (claimed, shipped - claimed, stopwatch.Elapsed - claimed);
        }
        finally
        {
            server.Kill();
            Directory.Delete(root, recursive: true);
        }
    }
}
