using System.Diagnostics;
using System.Globalization;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// A plain wall-clock harness for sustained throughput: N threads append records of a given payload size
/// (32 bytes by default: the benchmark's <c>[LoggerMessage]</c> entry of format 2, 48 bytes on disk; 170
/// was the same entry written out whole) into a fresh WAL, several rounds, crossing many segment ends, next to the same records written through one
/// 64 KiB-buffered FileStream behind a lock (what a plain file logger costs). Reports aggregate records/s.
/// </summary>
internal static class ThroughputHarness
{
    public static int Run(int threads, int recordsPerThread, WalDurability durability, int payloadBytes = 32)
    {
        var payload = new byte[payloadBytes];
        Random.Shared.NextBytes(payload);
        for (var round = 0; round < 3; round++)
        {
            InFreshDirectory(directory =>
            {
                using var file = new FileStream(Path.Combine(directory, "peer.log"), FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024);
                var gate = new object();
                var seconds = TimeThreads(threads, () =>
                {
                    for (var i = 0; i < recordsPerThread; i++)
                    {
                        lock (gate)
                        {
                            file.Write(payload);
                        }
                    }
                });
                Report($"FileStream peer threads={threads} payload={payloadBytes} round={round}", threads, recordsPerThread, seconds);
            });
        }

        for (var round = 0; round < 5; round++)
        {
            InFreshDirectory(directory =>
            {
                using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, Durability = durability, MaxDiskBytes = 16L << 30 });
                var seconds = TimeThreads(threads, () =>
                {
                    for (var i = 0; i < recordsPerThread; i++)
                    {
                        wal.Append(payload);
                    }
                });
                Report($"WAL {durability} threads={threads} payload={payloadBytes} round={round}", threads, recordsPerThread, seconds);
            });
        }

        return 0;
    }

    private static void Report(string what, int threads, int recordsPerThread, double seconds) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{what}: {threads * (double)recordsPerThread / seconds / 1e6:F2} M records/s ({seconds * 1e9 / recordsPerThread:F0} ns per record per thread)"));

    /// <summary>Starts the threads together and returns the seconds until the last one finished.</summary>
    private static double TimeThreads(int threads, Action body)
    {
        using var start = new Barrier(threads + 1);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            body();
        })).ToList();
        workers.ForEach(w => w.Start());
        start.SignalAndWait();
        var clock = Stopwatch.StartNew();
        workers.ForEach(w => w.Join());
        return clock.Elapsed.TotalSeconds;
    }

    private static void InFreshDirectory(Action<string> body)
    {
        var directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            body(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
