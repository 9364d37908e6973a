using BenchmarkDotNet.Attributes;
using LogPersist.Entries;

namespace LogPersist.Benchmarks;

/// <summary>
/// The encoder calls LogPersistLogger makes for the hot-path benchmark's call (a <c>[LoggerMessage]</c> method with 3
/// int properties), without the WAL append: the part of a log call the entry budget adds to.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class LoggerCallEncodeBenchmarks
{
    private readonly EntryEncoder _encoder = new();
    private readonly byte[] _category = "LogPersist.Benchmarks.Requests"u8.ToArray();
    private readonly object _id = 7;
    private readonly object _status = 200;
    private readonly object _elapsed = 12;

    private string _directory = "";
    private LogPersist.Wal.WriteAheadLog? _wal;

    /// <summary>A WAL whose string table the format 2 encoding refers to (its open segment; nothing is appended to it but the table).</summary>
    [GlobalSetup(Target = nameof(EncodeWithStringTable))]
    public void OpenWal()
    {
        _directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", "encode-" + Guid.NewGuid().ToString("N"));
        _wal = LogPersist.Wal.WriteAheadLog.Open(new LogPersist.Wal.WalOptions { Directory = _directory, MaxDiskBytes = 1L << 30 });
    }

    [GlobalCleanup(Target = nameof(EncodeWithStringTable))]
    public void CloseWal()
    {
        _wal?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Format 1: category, template, event name and property names written out in every entry.</summary>
    [Benchmark(Baseline = true)]
    public int Encode() => EncodeCall(null);

    /// <summary>Format 2, as the provider encodes: those strings referred to in the segment's string table.</summary>
    [Benchmark]
    public int EncodeWithStringTable() => EncodeCall(_wal!.Strings);

    private int EncodeCall(LogPersist.Wal.StringIds? strings)
    {
        var encoder = _encoder;
        encoder.UseStrings(strings);
        encoder.Begin(new EntryHeader
        {
            TimestampNs = 1_700_000_000_000_000_000,
            Level = EntryLevel.Information,
            CategoryUtf8 = _category,
            Category = "LogPersist.Benchmarks.Requests",
            Template = "Request {RequestId} answered {Status} in {ElapsedMs} ms",
            EventId = 1,
            EventName = "Answered",
        });
        encoder.BeginProperties(3);
        encoder.WriteProperty("RequestId", _id);
        encoder.WriteProperty("Status", _status);
        encoder.WriteProperty("ElapsedMs", _elapsed);
        encoder.BeginScopes();
        return encoder.End().Length;
    }
}
