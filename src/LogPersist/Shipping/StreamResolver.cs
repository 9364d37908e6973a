using System.Text;
using LogPersist.Entries;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Chooses each entry's stream: the static labels, plus the level and allow-listed properties when
/// configured, within the caps of a <see cref="CardinalityGuard"/>. Label sets are cached, so an entry
/// costs a lookup, not a formatted string, once its combination of values has been seen. Safe to share
/// between the reading loop and a rebuild on a sending thread.
/// </summary>
internal sealed class StreamResolver
{
    private const int MaxCachedStreams = 4096;
    private readonly LabelSet _static;
    private readonly bool _levelLabel;
    private readonly byte[][] _properties;
    private readonly string[] _propertyLabels;
    private readonly Dictionary<string, LabelSet> _cache = new(StringComparer.Ordinal);
    private readonly StringBuilder _key = new();
    private readonly CardinalityGuard? _guard;

    public StreamResolver(ShipperOptions options, Action<string>? overflowed = null)
    {
        _static = StaticLabels(options);
        _levelLabel = options.LevelLabel;
        _properties = options.LabelProperties.Select(Encoding.UTF8.GetBytes).ToArray();
        _propertyLabels = options.LabelProperties.Select(LabelSet.SanitizeName).ToArray();
        _guard = _properties.Length == 0 ? null : new CardinalityGuard(_propertyLabels, options.MaxLabelValues, options.MaxStreams, options.TimeProvider, overflowed);
    }

    public LabelSet Static => _static;

    public static LabelSet StaticLabels(ShipperOptions options) =>
        StaticLabels(options.DetectedLabels, options.Labels, options.InstanceLabel);

    /// <summary>The detected labels overridden by the configured ones, without the instance label when it is turned off.</summary>
    public static LabelSet StaticLabels(IEnumerable<KeyValuePair<string, string?>> detected, IEnumerable<KeyValuePair<string, string?>> configured, bool instanceLabel)
    {
        var labels = detected.Concat(configured);
        if (!instanceLabel)
        {
            labels = labels.Append(new(EnvironmentLabels.Instance, null));
        }

        return LabelSet.Create(labels);
    }

    public LabelSet Resolve(in EntryView entry)
    {
        if (!_levelLabel && _properties.Length == 0)
        {
            return _static;
        }

        var values = new string?[_properties.Length];
        for (var i = 0; i < _properties.Length; i++)
        {
            values[i] = FindScalar(entry, _properties[i]);
        }

        var level = _levelLabel ? EntryLevels.Name(entry.Level) : null;
        lock (_cache)
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is { } value && _guard is not null)
                {
                    values[i] = _guard.Admit(i, value);
                }
            }

            var key = Key(level, values);
            if (_guard is not null && !_guard.AdmitStream(key))
            {
                // Over the stream cap: the entry goes to the overflow stream of its level.
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = values[i] is null ? null : CardinalityGuard.Overflow;
                }

                key = Key(level, values);
            }

            if (_cache.TryGetValue(key, out var cached))
            {
                return cached;
            }

            var extra = new List<KeyValuePair<string, string?>>();
            if (level is not null)
            {
                extra.Add(new("level", level));
            }

            for (var i = 0; i < _properties.Length; i++)
            {
                if (values[i] is not null)
                {
                    extra.Add(new(_propertyLabels[i], values[i]));
                }
            }

            var labels = _static.With(extra);
            if (_cache.Count >= MaxCachedStreams)
            {
                _cache.Clear();
            }

            _cache[key] = labels;
            return labels;
        }
    }

    private string Key(string? level, string?[] values)
    {
        _key.Clear();
        _key.Append(level);
        foreach (var value in values)
        {
            // A present value and an absent one must differ: \u0002 marks a value.
            _key.Append('\u0001');
            if (value is not null)
            {
                _key.Append('\u0002').Append(value);
            }
        }

        return _key.ToString();
    }

    /// <summary>The text of a top-level scalar property, or null when absent or not a scalar.</summary>
    private static string? FindScalar(in EntryView entry, ReadOnlySpan<byte> name)
    {
        var reader = entry.PropertyReader();
        for (var p = 0; p < entry.PropertyCount; p++)
        {
            if (!reader.TryReadName(out var candidate) || !reader.TryReadValue(out var token))
            {
                return null;
            }

            if (candidate.SequenceEqual(name))
            {
                return token.Tag switch
                {
                    ValueTag.String or ValueTag.Number => Encoding.UTF8.GetString(token.Text),
                    ValueTag.Integer => token.Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ValueTag.Unsigned => token.Unsigned.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ValueTag.Double => token.Double.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                    ValueTag.True => "true",
                    ValueTag.False => "false",
                    _ => null,
                };
            }

            if (!reader.TrySkipItems(token))
            {
                return null;
            }
        }

        return null;
    }
}
