using System.Diagnostics;
using System.Globalization;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// A plain wall-clock harness: N threads append 170-byte records for a fixed count into a fresh WAL,
/// several rounds, reporting aggregate records/s. Complements the BenchmarkDotNet numbers with a
/// longer run that crosses many segment ends.
/// </summary>
internal static class ThroughputHarness
{
    public static int Run(int threads, int recordsPerThread, WalDurability durability)
    {
        RunFileStreamPeer(threads, recordsPerThread);
        var payload = new byte[170];
        Random.Shared.NextBytes(payload);
        for (var round = 0; round < 5; round++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
            try
            {
                using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, Durability = durability, MaxDiskBytes = 16L << 30 });
                using var start = new Barrier(threads + 1);
                var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
                {
                    start.SignalAndWait();
                    for (var i = 0; i < recordsPerThread; i++)
                    {
                        wal.Append(payload);
                    }
                })).ToList();
                workers.ForEach(w => w.Start());
                start.SignalAndWait();
                var clock = Stopwatch.StartNew();
                workers.ForEach(w => w.Join());
                var seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{durability} threads={threads} round={round}: {threads * (double)recordsPerThread / seconds / 1e6:F2} M records/s ({seconds * 1e9 / recordsPerThread:F0} ns per append per thread)"));
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        return 0;
    }

    /// <summary>The same records through one 64 KiB-buffered FileStream behind a lock: the sustained cost of a plain file logger.</summary>
    private static void RunFileStreamPeer(int threads, int recordsPerThread)
    {
        var payload = new byte[170];
        for (var round = 0; round < 3; round++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            try
            {
                using var file = new FileStream(Path.Combine(directory, "peer.log"), FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024);
                var gate = new object();
                using var start = new Barrier(threads + 1);
                var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
                {
                    start.SignalAndWait();
                    for (var i = 0; i < recordsPerThread; i++)
                    {
                        lock (gate)
                        {
                            file.Write(payload);
                        }
                    }
                })).ToList();
                workers.ForEach(w => w.Start());
                start.SignalAndWait();
                var clock = Stopwatch.StartNew();
                workers.ForEach(w => w.Join());
                var seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FileStream peer threads={threads} round={round}: {threads * (double)recordsPerThread / seconds / 1e6:F2} M records/s"));
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
