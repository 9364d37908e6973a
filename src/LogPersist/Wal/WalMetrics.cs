using System.Diagnostics.Metrics;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>
/// The WAL's instruments on the <c>LogPersist</c> meter, and the WAL's state for the health check.
/// Hot-path counts are kept in <see cref="StripedCounter"/> and published through observable
/// instruments, so a log call costs no more when a metrics listener is attached.
/// Instrument names follow <see cref="LogPersistMeter"/>.
/// </summary>
internal sealed class WalMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly SegmentCatalog _catalog;
    private readonly StripedCounter _appended = new();
    private readonly long[] _dropped = new long[WalDropReasons.All.Max(r => (int)r) + 1];
    private readonly Counter<long> _droppedCounter;
    private readonly Counter<long> _damagedCounter;
    private long _damagedRanges;
    private int _writeFailure;

    /// <param name="catalog">The WAL's segments on disk.</param>
    /// <param name="directory">The WAL directory, the meter's tag.</param>
    /// <param name="maxDiskBytes">The disk cap now (it can change while running); the cap gauge is left out without it.</param>
    public WalMetrics(SegmentCatalog catalog, string? directory = null, Func<long>? maxDiskBytes = null)
    {
        _catalog = catalog;
        _meter = LogPersistMeter.Create(directory);
        _meter.CreateObservableCounter("logpersist.wal.entry.written", () => _appended.Read().Count, "{entry}", "Entries appended to the WAL: log calls and LogPersist's own marker entries.");
        _meter.CreateObservableCounter("logpersist.wal.entry.written.size", () => _appended.Read().Bytes, "By", "Encoded bytes of the entries appended to the WAL, without record framing.");
        _droppedCounter = _meter.CreateCounter<long>("logpersist.wal.entry.dropped", "{entry}", "Entries dropped before they were shipped, by reason (disk cap, full disk, too large, unencodable...).");
        _damagedCounter = _meter.CreateCounter<long>("logpersist.wal.damage.skipped", "{range}", "Torn or corrupt byte ranges skipped while reading the WAL, by kind.");
        _meter.CreateObservableUpDownCounter("logpersist.wal.usage", () => catalog.TotalBytes, "By", "Bytes of WAL segment files on disk; at most the configured MaxDiskBytes.");
        _meter.CreateObservableUpDownCounter("logpersist.wal.segment.count", () => (long)catalog.Count, "{segment}", "WAL segment files on disk.");
        if (maxDiskBytes is not null)
        {
            _meter.CreateObservableGauge("logpersist.wal.limit", maxDiskBytes, "By", "The WAL's disk cap (MaxDiskBytes) now: logpersist.wal.usage stays under it.");
        }
    }

    /// <summary>The meter, for listeners that want to tell this WAL's instruments apart.</summary>
    public Meter Meter => _meter;

    public long AppendedRecords => _appended.Read().Count;

    public long AppendedBytes => _appended.Read().Bytes;

    public long DamagedRanges => Volatile.Read(ref _damagedRanges);

    /// <summary>Bytes of segment files on disk.</summary>
    public long DiskBytes => _catalog.TotalBytes;

    public int Segments => _catalog.Count;

    /// <summary>
    /// Why the writer could not open its last segment (<see cref="WalDropReason.WalFull"/>,
    /// <see cref="WalDropReason.NoSpace"/> or <see cref="WalDropReason.IoError"/>), or null while it
    /// writes. While set, appends are dropped (or wait, in <see cref="WalFullMode.Block"/>); it clears
    /// when a segment is created again.
    /// </summary>
    public WalDropReason? WriteFailure => Volatile.Read(ref _writeFailure) is var value and not 0 ? (WalDropReason)value : null;

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

    /// <summary>The writer failed to open a segment and drops (or holds) new appends.</summary>
    public void WriteFailed(WalDropReason reason) => Volatile.Write(ref _writeFailure, (int)reason);

    /// <summary>The writer opened a segment: appends are written again.</summary>
    public void WriteResumed() => Volatile.Write(ref _writeFailure, 0);

    public void Dispose() => _meter.Dispose();
}
