using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace LogPersist.Tests.Support;

/// <summary>Collects the measurements of one meter instance, summed per instrument and tag set.</summary>
internal sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();
    private readonly ConcurrentDictionary<string, long> _lastObserved = new();
    private readonly ConcurrentDictionary<string, double> _lastGauges = new();

    public MeterRecorder(Meter meter)
        : this(m => ReferenceEquals(m, meter))
    {
    }

    /// <summary>Collects the measurements of every meter <paramref name="include"/> picks, now or later created.</summary>
    public MeterRecorder(Func<Meter, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = Key(instrument.Name, tags);
            if (instrument.IsObservable)
            {
                _lastObserved[key] = value;
            }
            else
            {
                _sums.AddOrUpdate(key, value, (_, sum) => sum + value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _lastGauges[Key(instrument.Name, tags)] = value);
        _listener.Start();
    }

    /// <summary>Every <c>LogPersist</c> meter of the pipeline writing <paramref name="directory"/>.</summary>
    public static MeterRecorder ForDirectory(string directory) =>
        new(m => m.Name == "LogPersist" && m.Tags?.Any(t => t.Key == "logpersist.wal.directory" && Equals(t.Value, directory)) == true);

    /// <summary>Sum of a counter's measurements; <paramref name="tag"/> is "name=value" or null for untagged.</summary>
    public long Sum(string instrument, string? tag = null) => _sums.GetValueOrDefault(tag is null ? instrument : $"{instrument}|{tag}");

    /// <summary>Polls observable instruments and returns the latest value of one.</summary>
    public long Observe(string instrument)
    {
        _listener.RecordObservableInstruments();
        return _lastObserved.GetValueOrDefault(instrument);
    }

    /// <summary>Polls observable instruments and returns the latest value of a floating-point gauge.</summary>
    public double ObserveGauge(string instrument)
    {
        _listener.RecordObservableInstruments();
        return _lastGauges.GetValueOrDefault(instrument);
    }

    private static string Key(string name, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = name;
        foreach (var tag in tags)
        {
            key += $"|{tag.Key}={tag.Value}";
        }

        return key;
    }

    public void Dispose() => _listener.Dispose();
}
