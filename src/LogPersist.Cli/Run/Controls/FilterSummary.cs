using System.Globalization;
using System.Text.Json;
using LogPersist.Pipeline;

namespace LogPersist.Cli.Run.Controls;

/// <summary>
/// Writes, into the run's own stream (category <c>logpersist</c>), what the <see cref="LineFilter"/>
/// left out: every <see cref="Interval"/> while anything was sampled out or dropped, and once more
/// when the run ends, so that a person reading Loki sees that lines are missing on purpose, and how
/// many ("sampled out 9,312 debug lines and dropped 12 lines in the last 60 s").
/// </summary>
internal sealed class FilterSummary : IAsyncDisposable
{
    public const string Category = "logpersist";

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    private readonly LineFilter _filter;
    private readonly LineRecorder _recorder;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private long _since;

    public FilterSummary(LogPipeline pipeline, LineFilter filter, TimeSpan? interval = null)
    {
        _filter = filter;
        _time = pipeline.Time;
        _recorder = new LineRecorder(pipeline, Category);
        _since = _time.GetTimestamp();
        Interval = interval ?? DefaultInterval;
        _timer = _time.CreateTimer(_ => Write(), null, Interval, Interval);
    }

    public TimeSpan Interval { get; }

    /// <summary>Writes the summary of what was left out since the last one, if anything was.</summary>
    public void Write()
    {
        lock (_gate)
        {
            var counts = _filter.Take();
            var now = _time.GetTimestamp();
            var seconds = _time.GetElapsedTime(_since, now).TotalSeconds;
            _since = now;
            if (counts.SampledOut.All(c => c == 0) && counts.Dropped == 0)
            {
                // Redactions alone keep every line: nothing is missing to explain.
                return;
            }

            var parts = new List<string>();
            var sampled = Enumerable.Range(0, counts.SampledOut.Length).Where(i => counts.SampledOut[i] > 0)
                .Select(i => string.Create(CultureInfo.InvariantCulture, $"{counts.SampledOut[i]:N0} {EntryLevels.Name((EntryLevel)i)}")).ToList();
            if (sampled.Count > 0)
            {
                parts.Add("sampled out " + string.Join(", ", sampled) + " lines");
            }

            if (counts.Dropped > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"dropped {counts.Dropped:N0} lines"));
            }

            using var json = new MemoryStream();
            using (var writer = new Utf8JsonWriter(json))
            {
                writer.WriteStartObject();
                writer.WriteString("msg", string.Create(CultureInfo.InvariantCulture, $"{string.Join(" and ", parts)} in the last {seconds:0} s"));
                writer.WriteString("level", "info");
                for (var i = 0; i < counts.SampledOut.Length; i++)
                {
                    if (counts.SampledOut[i] > 0)
                    {
                        writer.WriteNumber("sampled_out_" + EntryLevels.Name((EntryLevel)i), counts.SampledOut[i]);
                    }
                }

                writer.WriteNumber("dropped", counts.Dropped);
                writer.WriteNumber("redacted", counts.Redacted);
                writer.WriteNumber("seconds", Math.Round(seconds, 3));
                writer.WriteEndObject();
            }

            _recorder.Write(json.ToArray(), 0, lastPart: true);
        }
    }

    /// <summary>Stops the timer and writes what was left out since the last summary.</summary>
    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        Write();
    }
}
