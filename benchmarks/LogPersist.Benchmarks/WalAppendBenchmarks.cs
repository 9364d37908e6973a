using BenchmarkDotNet.Attributes;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// Appends of 170-byte records, per record, with 1 and 2 appending threads, in each durability mode,
/// next to a buffered FileStream writing the same bytes (the peer: what a plain file logger costs).
/// Each iteration starts from a fresh WAL directory so that no run pays for eviction or finds a
/// warm, already-extended file: disk use stays bounded and every iteration does the same work.
/// </summary>
[MemoryDiagnoser]
public class WalAppendBenchmarks
{
    private const int RecordsPerThread = 200_000;
    private const int AlwaysRecordsPerThread = 2_000;
    private readonly byte[] _payload = new byte[170];
    private string _directory = "";
    private WriteAheadLog? _wal;
    private FileStream? _file;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void GlobalSetup() => Random.Shared.NextBytes(_payload);

    [IterationSetup(Target = nameof(PageCache))]
    public void OpenPageCache() => Open(WalDurability.PageCache);

    [IterationSetup(Target = nameof(Interval))]
    public void OpenInterval() => Open(WalDurability.Interval);

    [IterationSetup(Target = nameof(Always))]
    public void OpenAlways() => Open(WalDurability.Always);

    [IterationSetup(Target = nameof(FileStreamPeer))]
    public void OpenFile()
    {
        _directory = NewDirectory();
        _file = new FileStream(Path.Combine(_directory, "peer.log"), FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024);
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _wal?.Dispose();
        _wal = null;
        _file?.Dispose();
        _file = null;
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = RecordsPerThread)]
    public void PageCache() => Run(RecordsPerThread);

    [Benchmark(OperationsPerInvoke = RecordsPerThread)]
    public void Interval() => Run(RecordsPerThread);

    [Benchmark(OperationsPerInvoke = AlwaysRecordsPerThread)]
    public void Always() => Run(AlwaysRecordsPerThread);

    /// <summary>The peer: a 64 KiB-buffered FileStream; with 2 threads the writes are serialised by a lock, as a file logger must.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RecordsPerThread)]
    public void FileStreamPeer()
    {
        var file = _file!;
        var gate = new object();
        Parallel(Threads, () =>
        {
            for (var i = 0; i < RecordsPerThread; i++)
            {
                lock (gate)
                {
                    file.Write(_payload);
                }
            }
        });
    }

    private void Open(WalDurability durability)
    {
        _directory = NewDirectory();
        _wal = WriteAheadLog.Open(new WalOptions
        {
            Directory = _directory,
            Durability = durability,
            MaxDiskBytes = 8L << 30,
        });
    }

    private void Run(int records)
    {
        var wal = _wal!;
        Parallel(Threads, () =>
        {
            for (var i = 0; i < records; i++)
            {
                wal.Append(_payload);
            }
        });
    }

    private static void Parallel(int threads, Action body)
    {
        if (threads == 1)
        {
            body();
            return;
        }

        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() => body());
            workers[t].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
