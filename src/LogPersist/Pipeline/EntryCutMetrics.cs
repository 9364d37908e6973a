using System.Diagnostics.Metrics;
using LogPersist.Diagnostics;
using LogPersist.Entries;

namespace LogPersist.Pipeline;

/// <summary>
/// What encoding cut from log calls to keep each entry within its <see cref="EntryLimits"/>, by
/// <see cref="CutReason"/>, on the <c>LogPersist</c> meter (naming as in <see cref="LogPersistMeter"/>). A cut
/// is not a drop: the entry was written, its line carries a <c>cut</c> field and a marker where the cut is.
/// </summary>
internal sealed class EntryCutMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _cut;
    private readonly long[] _totals = new long[CutReasons.Count];

    public EntryCutMetrics(string? directory = null)
    {
        _meter = LogPersistMeter.Create(directory);
        _cut = _meter.CreateCounter<long>("logpersist.entry.cut", "{value}", "Values cut or left out of log entries to keep each within MaxEntryBytes and the value limits, by reason; the entry itself is written.");
    }

    public Meter Meter => _meter;

    public long Cut(CutReason reason) => Volatile.Read(ref _totals[(int)reason]);

    /// <summary>Counts one entry's cuts, indexed by <see cref="CutReason"/>.</summary>
    public void Record(ReadOnlySpan<int> cuts)
    {
        for (var i = 0; i < cuts.Length; i++)
        {
            if (cuts[i] > 0)
            {
                Interlocked.Add(ref _totals[i], cuts[i]);
                _cut.Add(cuts[i], new KeyValuePair<string, object?>("reason", ((CutReason)i).TagValue()));
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
