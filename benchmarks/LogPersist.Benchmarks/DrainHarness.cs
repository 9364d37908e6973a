using System.Diagnostics;
using System.Globalization;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// <c>logpersist drain</c> throughput: two WALs with the same ENTRIES entries (about 170-byte JSON
/// lines); one is shipped by an in-process shipper (the peer: what an application's own shipper
/// does), the other by the tool run as its own process, start-up included. Both push to the Loki
/// test server in a separate process. Reports entries/s of each and their ratio.
/// </summary>
internal static class DrainHarness
{
    public static int Run(int entries, int rounds)
    {
        for (var round = 1; round <= rounds; round++)
        {
            var shipper = ShipInProcess(entries);
            var drain = DrainWithTool(entries);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {entries:N0} entries; in-process shipper {shipper:N0} entries/s; logpersist drain {drain:N0} entries/s; drain/shipper {drain / shipper:F2}"));
        }

        return 0;
    }

    internal static double ShipInProcess(int entries)
    {
        var directory = NewDirectory();
        using var server = ShippingHarness.StartServer(out var endpoint);
        try
        {
            ShippingHarness.Fill(directory, entries);
            using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = 8L << 30 });
            var stopwatch = Stopwatch.StartNew();
            using var shipper = new Shipper(wal, new ShipperOptions
            {
                Loki = new LokiClientOptions { Endpoint = endpoint },
                DetectedLabels = [new("service_name", "bench"), new("pod", "bench-0")],
                MaxEntryAge = null,
            });
            shipper.Start();
            if (!shipper.FlushAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult())
            {
                throw new InvalidOperationException("the shipper did not finish");
            }

            return shipper.Metrics.ShippedEntries / stopwatch.Elapsed.TotalSeconds;
        }
        finally
        {
            Stop(server);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static double DrainWithTool(int entries)
    {
        var directory = NewDirectory();
        using var server = ShippingHarness.StartServer(out var endpoint);
        try
        {
            ShippingHarness.Fill(directory, entries);
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "LogPersist.Cli.dll"), "drain", directory, "--loki", endpoint.ToString(), "--json" })
            {
                start.ArgumentList.Add(argument);
            }

            var stopwatch = Stopwatch.StartNew();
            using var tool = Process.Start(start) ?? throw new InvalidOperationException("could not start logpersist");
            var errors = tool.StandardError.ReadToEndAsync();
            var output = tool.StandardOutput.ReadToEnd();
            tool.WaitForExit();
            stopwatch.Stop();
            if (tool.ExitCode != 0)
            {
                throw new InvalidOperationException($"logpersist drain exited {tool.ExitCode}: {output} {errors.Result}");
            }

            return entries / stopwatch.Elapsed.TotalSeconds;
        }
        finally
        {
            Stop(server);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string NewDirectory() => Path.Combine(Path.GetTempPath(), "logpersist-drain-" + Guid.NewGuid().ToString("N"));

    private static void Stop(Process server)
    {
        server.StandardInput.Close();
        server.WaitForExit(10_000);
    }
}
