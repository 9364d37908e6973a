namespace LogPersist.Shipping;

/// <summary>
/// Keeps <see cref="LogPersistOptions.LabelProperties"/> from creating streams without bound, the way
/// Loki's per-tenant stream limit (5,000 active streams by default) would otherwise stop them with
/// 429s: within a window, each label takes at most <see cref="MaxValues"/> distinct values and the
/// stream set at most <see cref="MaxStreams"/> streams. A value over the cap becomes
/// <see cref="Overflow"/> (the real one is still in the line, or in the metadata when it is named in
/// <see cref="LogPersistOptions.MetadataProperties"/>); an entry that would open a stream over the cap
/// goes to the overflow stream of its other labels. Each overflow is counted, and the first of each
/// label in a window is reported.
/// </summary>
internal sealed class CardinalityGuard
{
    /// <summary>The value a label takes once its cap is reached.</summary>
    public const string Overflow = "__overflow__";

    /// <summary>The label name under which streams over <see cref="MaxStreams"/> are counted.</summary>
    public const string StreamsLabel = "(streams)";

    public const int DefaultMaxValues = 100;

    public const int DefaultMaxStreams = 500;

    /// <summary>How long values and streams count against the caps: about as long as Loki keeps an idle stream active.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    private readonly string[] _labels;
    private readonly HashSet<string>[] _values;
    private readonly HashSet<string> _streams = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly Action<string>? _overflowed;
    private long _windowStart;

    /// <param name="labels">The label of each property, in order.</param>
    /// <param name="maxValues">Distinct values each label takes in a window.</param>
    /// <param name="maxStreams">Streams in a window.</param>
    /// <param name="time">The clock of the window.</param>
    /// <param name="overflowed">Called with the label name at each value or stream sent to overflow.</param>
    public CardinalityGuard(IReadOnlyList<string> labels, int maxValues, int maxStreams, TimeProvider time, Action<string>? overflowed)
    {
        _labels = [.. labels];
        _values = [.. labels.Select(_ => new HashSet<string>(StringComparer.Ordinal))];
        MaxValues = maxValues;
        MaxStreams = maxStreams;
        _time = time;
        _overflowed = overflowed;
        _windowStart = time.GetTimestamp();
    }

    public int MaxValues { get; }

    public int MaxStreams { get; }

    /// <summary>The value property <paramref name="index"/> carries as a label: itself, or <see cref="Overflow"/> over the cap.</summary>
    public string Admit(int index, string value)
    {
        Roll();
        var seen = _values[index];
        if (seen.Contains(value) || (seen.Count < MaxValues && seen.Add(value)))
        {
            return value;
        }

        _overflowed?.Invoke(_labels[index]);
        return Overflow;
    }

    /// <summary>Whether the stream of <paramref name="key"/> may be opened (it is open already, or under the cap).</summary>
    public bool AdmitStream(string key)
    {
        if (_streams.Contains(key) || (_streams.Count < MaxStreams && _streams.Add(key)))
        {
            return true;
        }

        _overflowed?.Invoke(StreamsLabel);
        return false;
    }

    private void Roll()
    {
        if (_time.GetElapsedTime(_windowStart) < Window)
        {
            return;
        }

        _windowStart = _time.GetTimestamp();
        foreach (var values in _values)
        {
            values.Clear();
        }

        _streams.Clear();
    }
}
