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

    [Benchmark]
    public int Encode()
    {
        var encoder = _encoder;
        encoder.Begin(new EntryHeader
        {
            TimestampNs = 1_700_000_000_000_000_000,
            Level = EntryLevel.Information,
            CategoryUtf8 = _category,
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
