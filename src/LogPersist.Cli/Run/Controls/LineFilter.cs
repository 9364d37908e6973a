using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using LogPersist.Diagnostics;

namespace LogPersist.Cli.Run.Controls;

/// <summary>
/// Applies the current <see cref="LineControls"/> (replaced whole on a reload) to lines of every
/// stream and followed file, with the pipeline's minimum level, and counts what it did: on the
/// <c>logpersist.run.line.filtered</c> counter by reason (and level, for sampling and the minimum
/// level), and in totals that <see cref="FilterSummary"/> takes to write its entries. Thread-safe; the recorders of several threads share one.
/// </summary>
internal sealed class LineFilter : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _filtered;
    private readonly long[] _sampledOut = new long[6];
    private long _dropped;
    private long _redacted;
    private volatile LineControls _controls;

    public LineFilter(LineControls controls, string? directory)
    {
        _controls = controls;
        _meter = LogPersistMeter.Create(directory);
        _filtered = _meter.CreateCounter<long>("logpersist.run.line.filtered", "{line}", "Lines of logpersist run's child sampled out, dropped or below the minimum level before the WAL, or changed by a redaction, by reason.");
    }

    public LineControls Controls
    {
        get => _controls;
        set => _controls = value;
    }

    /// <summary>True when a drop pattern matches <paramref name="text"/>; counted.</summary>
    public bool Drops(LineControls controls, string text)
    {
        foreach (var pattern in controls.Drops)
        {
            if (Matches(pattern, text))
            {
                Interlocked.Increment(ref _dropped);
                _filtered.Add(1, new KeyValuePair<string, object?>("logpersist.reason", "dropped"));
                return true;
            }
        }

        return false;
    }

    /// <summary><paramref name="text"/> with every redaction applied; a changed line is counted once.</summary>
    public string Redact(LineControls controls, string text)
    {
        var redacted = text;
        foreach (var (pattern, replacement) in controls.Redactions)
        {
            try
            {
                redacted = pattern.Replace(redacted, replacement);
            }
            catch (RegexMatchTimeoutException)
            {
                // A pattern too slow for this line: the line cannot be shown to be clean, so none of it is kept.
                redacted = LineControls.DefaultReplacement;
            }
        }

        if (!ReferenceEquals(redacted, text) && redacted != text)
        {
            Interlocked.Increment(ref _redacted);
            _filtered.Add(1, new KeyValuePair<string, object?>("logpersist.reason", "redacted"));
        }

        return redacted;
    }

    /// <summary>Whether a line of <paramref name="level"/> is kept by the sampling; one sampled out is counted.</summary>
    public bool Keeps(LineControls controls, EntryLevel level)
    {
        if (!controls.SampleRates.TryGetValue(level, out var rate) || rate >= 1 || (rate > 0 && Random.Shared.NextDouble() < rate))
        {
            return true;
        }

        Interlocked.Increment(ref _sampledOut[(int)level]);
        _filtered.Add(1, new KeyValuePair<string, object?>("logpersist.reason", "sampled"), new KeyValuePair<string, object?>("logpersist.level", EntryLevels.Name(level)));
        return false;
    }

    /// <summary>
    /// Whether a line whose level is <paramref name="level"/> (null when its level is not known) reaches
    /// the pipeline's <see cref="LogPersistOptions.MinimumLevel"/>; one below it is counted (reason
    /// <c>level</c>). A line of no known level is kept: nothing says it is below.
    /// </summary>
    public bool Reaches(EntryLevel? level, EntryLevel minimum)
    {
        if (level is not { } known || known >= minimum)
        {
            return true;
        }

        _filtered.Add(1, new KeyValuePair<string, object?>("logpersist.reason", "level"), new KeyValuePair<string, object?>("logpersist.level", EntryLevels.Name(known)));
        return false;
    }

    /// <summary>The level a <see cref="LineControls.LevelPattern"/> finds in a text line, or null.</summary>
    public static EntryLevel? PatternLevel(LineControls controls, string text)
    {
        try
        {
            return controls.LevelPattern?.Match(text) is { Success: true } match ? JsonLine.Level(match.Groups["level"].Value) : null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    /// <summary>What was sampled out (per level), dropped and redacted since the last call; the counts start again.</summary>
    public FilterCounts Take()
    {
        var sampled = new long[_sampledOut.Length];
        for (var i = 0; i < sampled.Length; i++)
        {
            sampled[i] = Interlocked.Exchange(ref _sampledOut[i], 0);
        }

        return new FilterCounts(sampled, Interlocked.Exchange(ref _dropped, 0), Interlocked.Exchange(ref _redacted, 0));
    }

    private static bool Matches(Regex pattern, string text)
    {
        try
        {
            return pattern.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Lines sampled out per level (indexed by <see cref="EntryLevel"/>), dropped and redacted over a period.</summary>
internal sealed record FilterCounts(long[] SampledOut, long Dropped, long Redacted)
{
    public bool Any => Dropped > 0 || Redacted > 0 || SampledOut.Any(c => c > 0);
}
