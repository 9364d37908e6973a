using System.Diagnostics;
using System.Globalization;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// Time from <see cref="WriteAheadLog.Open"/> to the first append returning, with a backlog of
/// earlier segments on disk, and how long the background recovery scan of that backlog takes. Every
/// disk cap gets a backlog of its own, written the same way, and the runs alternate between the caps,
/// so that a cap the backlog fills is measured next to one it stays under, on the same machine load.
/// </summary>
internal static class RecoveryMeasurement
{
    private const int Repetitions = 10;

    public static int Run(int backlogMiB, IReadOnlyList<long> maxDiskBytes)
    {
        var root = Path.Combine(Path.GetTempPath(), "logpersist-bench", "recovery-" + Guid.NewGuid().ToString("N"));
        try
        {
            var payload = new byte[170];
            Random.Shared.NextBytes(payload);
            var cases = new List<Case>();
            foreach (var cap in maxDiskBytes)
            {
                var directory = Path.Combine(root, (cap >> 20).ToString(CultureInfo.InvariantCulture));
                WriteBacklog(directory, backlogMiB, payload);
                var segments = Directory.GetFiles(directory, "*.wal");
                var bytes = segments.Sum(f => new FileInfo(f).Length);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"backlog for the {cap >> 20} MiB cap: {segments.Length} segments, {bytes >> 20} MiB"));
                cases.Add(new Case(directory, cap));
            }

            for (var run = 0; run < Repetitions; run++)
            {
                foreach (var measured in cases)
                {
                    measured.Measure(payload);
                }
            }

            foreach (var measured in cases)
            {
                measured.Print();
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static void WriteBacklog(string directory, int backlogMiB, byte[] payload)
    {
        using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = 64L << 30 });
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

    private sealed class Case(string directory, long maxDiskBytes)
    {
        private readonly List<double> _firstAppend = [];
        private readonly List<double> _scan = [];
        private long _records;
        private long _evicted;
        private long _maxDiskBytesAfter;

        public void Measure(byte[] payload)
        {
            var clock = Stopwatch.StartNew();
            using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, MaxDiskBytes = maxDiskBytes });
            if (!wal.Append(payload))
            {
                throw new InvalidOperationException("first append was refused");
            }

            _firstAppend.Add(clock.Elapsed.TotalMilliseconds);

            // The scan starts once what the cap needs evicted is gone, so the WAL is back under its cap here.
            var report = wal.Recovery.GetAwaiter().GetResult();
            _scan.Add(report.Elapsed.TotalMilliseconds);
            _records = report.Records;
            _evicted += wal.Metrics.Dropped(WalDropReason.OldestEvicted);
            _maxDiskBytesAfter = Math.Max(_maxDiskBytesAfter, wal.Metrics.DiskBytes);
        }

        public void Print()
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"disk cap: {maxDiskBytes >> 20} MiB; records in backlog (last run): {_records:N0}; evicted over {_firstAppend.Count} runs: {_evicted:N0}; largest WAL after recovery: {_maxDiskBytesAfter >> 20} MiB"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  open -> first append returned (ms): median {Median(_firstAppend):F2}, min {_firstAppend.Min():F2}, p100 {_firstAppend.Max():F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    runs: {string.Join(", ", _firstAppend.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  background recovery scan (ms):      median {Median(_scan):F0}, min {_scan.Min():F0}, max {_scan.Max():F0}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
