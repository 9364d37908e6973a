using System.Diagnostics.Metrics;
using LogPersist.Wal;

namespace LogPersist.Diagnostics;

/// <summary>
/// The WAL's instruments on the <c>LogPersist</c> meter. Hot-path counts are kept in
/// <see cref="StripedCounter"/> and published through observable instruments, so a log call costs
/// no more when a metrics listener is attached.
/// </summary>
internal sealed class WalMetrics : IDisposable
{
    public const string MeterName = "LogPersist";

    private readonly Meter _meter;
    private readonly StripedCounter _appended = new();
    private readonly long[] _dropped = new long[WalDropReasons.All.Max(r => (int)r) + 1];
    private readonly Counter<long> _droppedCounter;
    private readonly Counter<long> _damagedCounter;
    private long _damagedRanges;

    public WalMetrics(SegmentCatalog catalog)
    {
        _meter = new Meter(MeterName);
        _meter.CreateObservableCounter("logpersist.wal.records", () => _appended.Read().Count, "{record}", "Records appended to the WAL.");
        _meter.CreateObservableCounter("logpersist.wal.bytes", () => _appended.Read().Bytes, "By", "Payload bytes appended to the WAL.");
        _droppedCounter = _meter.CreateCounter<long>("logpersist.wal.dropped", "{record}", "Records dropped before shipping, by reason.");
        _damagedCounter = _meter.CreateCounter<long>("logpersist.wal.damaged", "{range}", "Torn or corrupt byte ranges skipped while reading the WAL, by kind.");
        _meter.CreateObservableUpDownCounter("logpersist.wal.disk_usage", () => catalog.TotalBytes, "By", "Bytes of WAL segment files on disk.");
        _meter.CreateObservableUpDownCounter("logpersist.wal.segments", () => (long)catalog.Count, "{segment}", "WAL segment files on disk.");
    }

    /// <summary>The meter, for listeners that want to tell this WAL's instruments apart.</summary>
    public Meter Meter => _meter;

    public long AppendedRecords => _appended.Read().Count;

    public long AppendedBytes => _appended.Read().Bytes;

    public long DamagedRanges => Volatile.Read(ref _damagedRanges);

    public void Appended(int payloadBytes) => _appended.Add(payloadBytes);

    public long Dropped(WalDropReason reason) => Volatile.Read(ref _dropped[(int)reason]);

    public long DroppedTotal() => WalDropReasons.All.Sum(Dropped);

    public void RecordsDropped(WalDropReason reason, long records)
    {
        Interlocked.Add(ref _dropped[(int)reason], records);
        _droppedCounter.Add(records, new KeyValuePair<string, object?>("reason", reason.TagValue()));
    }

    public void DamageFound(DamageKind kind)
    {
        Interlocked.Increment(ref _damagedRanges);
        _damagedCounter.Add(1, new KeyValuePair<string, object?>("kind", kind == DamageKind.Torn ? "torn" : "corrupt"));
    }

    public void Dispose() => _meter.Dispose();
}
