using System.Diagnostics;
using System.Globalization;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// Time from <see cref="WriteAheadLog.Open"/> to the first append returning, with a backlog of
/// earlier segments on disk, and how long the background recovery scan of that backlog takes.
/// </summary>
internal static class RecoveryMeasurement
{
    private const int Repetitions = 7;

    public static int Run(int backlogMiB, long maxDiskBytes)
    {
        var directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", "recovery-" + Guid.NewGuid().ToString("N"));
        try
        {
            var payload = new byte[170];
            Random.Shared.NextBytes(payload);
            using (var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = 64L << 30 }))
            {
                var target = (long)backlogMiB << 20;
                while (Directory.GetFiles(directory, "*.wal").Length * (64L << 20) < target
                       || wal.Metrics.AppendedBytes < target * 9 / 10)
                {
                    for (var i = 0; i < 100_000; i++)
                    {
                        wal.Append(payload);
                    }
                }
            }

            var segments = Directory.GetFiles(directory, "*.wal");
            var bytes = segments.Sum(f => new FileInfo(f).Length);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backlog: {segments.Length} segments, {bytes / (1 << 20)} MiB"));

            var firstAppend = new List<double>();
            var scan = new List<double>();
            long records = 0, evicted = 0;
            for (var run = 0; run < Repetitions; run++)
            {
                var clock = Stopwatch.StartNew();
                using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = maxDiskBytes });
                if (!wal.Append(payload))
                {
                    throw new InvalidOperationException("first append was refused");
                }

                firstAppend.Add(clock.Elapsed.TotalMilliseconds);
                var report = wal.Recovery.GetAwaiter().GetResult();
                scan.Add(report.Elapsed.TotalMilliseconds);
                records = report.Records;
                evicted += wal.Metrics.Dropped(WalDropReason.OldestEvicted);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"disk cap: {maxDiskBytes / (1 << 20)} MiB; records in backlog: {records:N0}; evicted at open: {evicted:N0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"open -> first append returned (ms): median {Median(firstAppend):F2}, min {firstAppend.Min():F2}, max {firstAppend.Max():F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"background recovery scan (ms):      median {Median(scan):F0}, min {scan.Min():F0}, max {scan.Max():F0}"));
            return 0;
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
