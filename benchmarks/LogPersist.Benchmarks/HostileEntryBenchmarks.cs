using BenchmarkDotNet.Attributes;
using LogPersist.Entries;

namespace LogPersist.Benchmarks;

/// <summary>
/// What encoding one entry costs when its values are hostile — the reproductions of issue 17 — next to an
/// ordinary entry, with the default <see cref="EntryLimits"/> (1 MiB). Each value is built once; only the
/// encoding into a reused encoder is measured, as on a log call.
/// </summary>
[MemoryDiagnoser]
public class HostileEntryBenchmarks
{
    private readonly EntryEncoder _encoder = new();
    private LogEntry _ordinary = null!;
    private LogEntry _selfContaining = null!;
    private LogEntry _wide = null!;
    private LogEntry _bytes = null!;
    private LogEntry _endless = null!;
    private LogEntry _message = null!;
    private LogEntry _properties = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ordinary = Entry("Request {RequestId} answered {Status} in {ElapsedMs} ms", ("RequestId", 7), ("Status", 200), ("ElapsedMs", 12));

        var list = new List<object>();
        list.Add(list);
        list.Add(list);
        list.Add(list);
        _selfContaining = Entry("Value {V}", ("V", list));

        // 3^15 leaves through distinct paths: no cycle, only breadth.
        object wide = 1;
        for (var i = 0; i < 15; i++)
        {
            wide = new List<object> { wide, wide, wide };
        }

        _wide = Entry("Value {V}", ("V", wide));
        _bytes = Entry("Upload {Body}", ("Body", new byte[20 << 20]));
        _endless = Entry("Items {Items}", ("Items", Endless()));
        _message = new LogEntry { Category = "Bench", Message = new string('x', 100_000_000) };
        _properties = Entry("many", [.. Enumerable.Range(0, 70_000).Select(i => ("P" + i, (object)i))]);
    }

    [Benchmark(Baseline = true)]
    public int Ordinary() => _encoder.Encode(_ordinary).Length;

    [Benchmark]
    public int SelfContainingList() => _encoder.Encode(_selfContaining).Length;

    [Benchmark]
    public int WideNestedList() => _encoder.Encode(_wide).Length;

    [Benchmark]
    public int ByteArray20MB() => _encoder.Encode(_bytes).Length;

    [Benchmark]
    public int EndlessSequence() => _encoder.Encode(_endless).Length;

    [Benchmark]
    public int Message100MB() => _encoder.Encode(_message).Length;

    [Benchmark]
    public int Properties70000() => _encoder.Encode(_properties).Length;

    private static IEnumerable<int> Endless()
    {
        for (var i = 0; ; i++)
        {
            yield return i;
        }
    }

    private static LogEntry Entry(string template, params (string Name, object Value)[] properties)
    {
        var entry = new LogEntry { Category = "Bench", Template = template };
        foreach (var (name, value) in properties)
        {
            entry.Properties.Add(new(name, value));
        }

        return entry;
    }
}
