using System.Diagnostics.Metrics;
using LogPersist.Diagnostics;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>The shipper's instruments on the <c>LogPersist</c> meter (naming as in <see cref="LogPersistMeter"/>).</summary>
internal sealed class ShipperMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _overflowed;
    private readonly Counter<long> _held;
    private readonly long[] _refusedTotals = new long[ResponseClassifier.ReasonNames.Length];
    private long _shippedEntries;
    private long _shippedBytes;
    private long _retries;
    private long _undecodable;
    private long _heldTotal;
    private int _stopped;

    public ShipperMetrics(Func<double> lagSeconds, string? directory = null)
    {
        _meter = LogPersistMeter.Create(directory);
        _meter.CreateObservableCounter("logpersist.ship.entry.accepted", () => Volatile.Read(ref _shippedEntries), "{entry}", "Entries accepted by Loki.");
        _meter.CreateObservableCounter("logpersist.ship.entry.accepted.size", () => Volatile.Read(ref _shippedBytes), "By", "Line bytes of the entries accepted by Loki, before compression.");
        _requests = _meter.CreateCounter<long>("logpersist.ship.request.sent", "{request}", "Push requests sent to Loki (every attempt), by status class: 2xx, 4xx, 5xx or transport.");
        _meter.CreateObservableCounter("logpersist.ship.request.retried", () => Volatile.Read(ref _retries), "{request}", "Push requests sent again after a retryable answer or a transport fault.");
        _refused = _meter.CreateCounter<long>("logpersist.ship.entry.refused", "{entry}", "Entries refused by Loki, or not sent because Loki would refuse them, by reason.");
        _overflowed = _meter.CreateCounter<long>("logpersist.label.overflow", "{entry}", "Entries whose label property value (label name) or new stream (label \"(streams)\") went over the cardinality cap and were sent with the overflow value.");
        _held = _meter.CreateCounter<long>("logpersist.ship.entry.held", "{entry}", "Entries of a stream Loki kept refusing with a 429 (reason stream_limit or stream_rate), moved to the WAL's tail to be sent again later while the other streams ship on.");
        _meter.CreateObservableCounter("logpersist.ship.record.skipped", () => Volatile.Read(ref _undecodable), "{record}", "WAL records skipped by the shipper because they are not readable entries.");
        _meter.CreateObservableGauge("logpersist.ship.lag", lagSeconds, "s", "Age of the oldest entry read from the WAL and not yet acknowledged by Loki.");
        _meter.CreateObservableGauge("logpersist.ship.stopped", () => Volatile.Read(ref _stopped), "{stop}", "1 while shipping is stopped before a segment or record of a later format than this version reads (kept for a later version), else 0.");
    }

    public Meter Meter => _meter;

    public long ShippedEntries => Volatile.Read(ref _shippedEntries);

    public long ShippedBytes => Volatile.Read(ref _shippedBytes);

    public long Retries => Volatile.Read(ref _retries);

    public long Undecodable => Volatile.Read(ref _undecodable);

    public long Refused(RefusalReason reason) => Volatile.Read(ref _refusedTotals[(int)reason]);

    public long RefusedTotal()
    {
        long total = 0;
        for (var i = 0; i < _refusedTotals.Length; i++)
        {
            total += Volatile.Read(ref _refusedTotals[i]);
        }

        return total;
    }

    public void Shipped(long entries, long bytes)
    {
        Interlocked.Add(ref _shippedEntries, entries);
        Interlocked.Add(ref _shippedBytes, bytes);
    }

    public void Request(string statusClass) => _requests.Add(1, new KeyValuePair<string, object?>("status_class", statusClass));

    public void Retry() => Interlocked.Increment(ref _retries);

    public void Held(int entries, string reason)
    {
        Interlocked.Add(ref _heldTotal, entries);
        _held.Add(entries, new KeyValuePair<string, object?>("reason", reason));
    }

    public long HeldTotal => Volatile.Read(ref _heldTotal);

    public void LabelOverflowed(string label) => _overflowed.Add(1, new KeyValuePair<string, object?>("label", label));

    public void UndecodableRecord() => Interlocked.Increment(ref _undecodable);

    public void StoppedAtNewerFormat() => Volatile.Write(ref _stopped, 1);

    public void RefusedEntries(int[] byReason)
    {
        for (var i = 0; i < byReason.Length; i++)
        {
            if (byReason[i] > 0)
            {
                Interlocked.Add(ref _refusedTotals[i], byReason[i]);
                _refused.Add(byReason[i], new KeyValuePair<string, object?>("reason", ResponseClassifier.ReasonNames[i]));
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
