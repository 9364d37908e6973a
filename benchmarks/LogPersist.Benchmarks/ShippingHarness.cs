using System.Diagnostics;
using System.Globalization;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// End-to-end shipping cost: fills a WAL with ENTRIES entries whose JSON lines are about 170 bytes,
/// then ships all of it to the Loki test server running as a separate process on loopback, and
/// reports entries per second and CPU time of this (the shipping) process per entry. The server's
/// decoding runs in its own process and is reported separately.
/// </summary>
internal static class ShippingHarness
{
    public static int Run(int entries, int rounds, int streams = 1, double spanMinutes = 0)
    {
        for (var round = 1; round <= rounds; round++)
        {
            RunOnce(entries, round, streams, spanMinutes);
        }

        return 0;
    }

    private static void RunOnce(int entries, int round, int streams, double spanMinutes)
    {
        var directory = Path.Combine(Path.GetTempPath(), "logpersist-ship-" + Guid.NewGuid().ToString("N"));
        using var server = StartServer(out var endpoint);
        try
        {
            var lineBytes = Fill(directory, entries, streams, spanMinutes);
            using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = 8L << 30 });
            var options = new ShipperOptions
            {
                Loki = new LokiClientOptions { Endpoint = endpoint },
                DetectedLabels = [new("service_name", "bench"), new("pod", "bench-0")],
                StructuredMetadata = StructuredMetadataMode.Off,
                MaxEntryAge = null,
                LabelProperties = streams > 1 ? ["Shard"] : [],
            };

            // LOGPERSIST_ALLOCATION_TYPES=1 names the types allocated while shipping (sampled; costs some CPU).
            using var sampling = Environment.GetEnvironmentVariable("LOGPERSIST_ALLOCATION_TYPES") == "1" ? new AllocationSampler() : null;
            var process = Process.GetCurrentProcess();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var baseline = SizeAfterLastCollection();
            var gcBefore = GC.CollectionCount(0);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var cpuBefore = process.TotalProcessorTime;
            var serverCpuBefore = server.TotalProcessorTime;
            long peakHeap = 0, peakAfterGc = 0;
            using var sampler = new Timer(
                _ =>
                {
                    InterlockedMax(ref peakHeap, GC.GetTotalMemory(false));
                    // The heap as the last collection left it: live objects (plus fragmentation), no garbage.
                    InterlockedMax(ref peakAfterGc, SizeAfterLastCollection());
                },
                null,
                0,
                20);
            var stopwatch = Stopwatch.StartNew();
            using var shipper = new Shipper(wal, options);
            shipper.Start();
            var done = shipper.FlushAsync(TimeSpan.FromMinutes(10)).GetAwaiter().GetResult();
            stopwatch.Stop();
            process.Refresh();
            server.Refresh();
            var cpu = process.TotalProcessorTime - cpuBefore;
            var serverCpu = server.TotalProcessorTime - serverCpuBefore;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var shipped = shipper.Metrics.ShippedEntries;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {(done ? "complete" : "INCOMPLETE")}, {shipped:N0} entries shipped, {shipper.Metrics.RefusedTotal():N0} refused, average line {lineBytes / (double)entries:F0} bytes; " +
                $"wall {stopwatch.Elapsed.TotalSeconds:F2} s = {shipped / stopwatch.Elapsed.TotalSeconds:N0} entries/s; " +
                $"shipper CPU {cpu.TotalSeconds:F2} s = {cpu.TotalMilliseconds * 1000 / shipped:F2} µs/entry ({cpu.TotalSeconds * 1_000_000 / shipped:F2} CPU-s per million); " +
                $"allocated {allocated / (double)shipped:F0} B/entry, {GC.CollectionCount(0) - gcBefore} gen0 GCs, peak managed heap {Interlocked.Read(ref peakHeap) >> 20} MiB, {Interlocked.Read(ref peakAfterGc) >> 20} MiB after a collection (before shipping: {baseline >> 20} MiB); " +
                $"server CPU {serverCpu.TotalSeconds:F2} s"));
            if (sampling is not null)
            {
                Console.WriteLine($"  allocation ticks (about 100 KB each): {sampling.Top(12)}");
            }
        }
        finally
        {
            server.StandardInput.Close();
            server.WaitForExit(10_000);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static long SizeAfterLastCollection()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        long bytes = 0;
        foreach (var generation in info.GenerationInfo)
        {
            bytes += generation.SizeAfterBytes;
        }

        return bytes;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Writes the entries the way the logging provider will: timestamp, level, category, template and two properties.</summary>
    internal static long Fill(string directory, int entries, int streams = 1, double spanMinutes = 0)
    {
        using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = 8L << 30 });
        var encoder = new EntryEncoder();
        using var formatter = new LineFormatter(LineFormat.Json);
        var entry = new LogEntry { Category = "Shop.Orders", Template = "Order {OrderId} shipped in {ElapsedMs} ms" };
        entry.Properties.Add(new("OrderId", 0L));
        entry.Properties.Add(new("ElapsedMs", 0L));
        if (streams > 1)
        {
            entry.Properties.Add(new("Shard", 0L));
        }

        // Entries 1 µs apart by default (a burst); spread over SPAN minutes, a backlog replayed after an outage.
        var step = spanMinutes > 0 ? (long)(spanMinutes * 60e9 / entries) : 1000L;
        var start = LogEntry.NowNs(TimeProvider.System) - ((long)entries * step);
        long lineBytes = 0;
        for (var i = 0; i < entries; i++)
        {
            entry.TimestampNs = start + (i * step);
            if (streams > 1)
            {
                entry.Properties[2] = new("Shard", (long)(i % streams));
            }

            entry.Properties[0] = new("OrderId", 1_000_000L + i);
            entry.Properties[1] = new("ElapsedMs", i % 250);
            var payload = encoder.Encode(entry);
            if (i < 1000 && EntryView.TryDecode(payload, out var view))
            {
                lineBytes += formatter.Format(view, true).Length;
            }

            wal.Append(payload);
        }

        wal.Flush();
        return lineBytes * entries / Math.Min(entries, 1000);
    }

    internal static Process StartServer(out Uri endpoint)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "LogPersist.LokiTestServer.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(dll);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the test server");
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the test server exited");
        endpoint = new Uri(line["listening ".Length..]);
        return process;
    }
}
