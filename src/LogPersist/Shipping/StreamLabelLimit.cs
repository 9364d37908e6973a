using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Fits a stream's labels under Loki's <c>max_label_names_per_series</c>, so that no stream LogPersist
/// makes is refused for its label count. What does not fit is left out, in a fixed order: allow-listed
/// properties from the last, then the <c>level</c> label, then configured static labels from the last;
/// the detected labels (<c>service_name</c>, <c>pod</c>, <c>namespace</c>, <c>container</c>) are kept longest.
/// </summary>
internal static class StreamLabelLimit
{
    /// <summary>Loki 3's default <c>max_label_names_per_series</c> (Loki 2's is 30).</summary>
    public const int DefaultMaxLabelNames = 15;

    private static readonly string[] KeptLongest = [EnvironmentLabels.ServiceName, EnvironmentLabels.Instance, EnvironmentLabels.Namespace, EnvironmentLabels.Container];

    /// <summary>
    /// The labels that fit: <paramref name="staticLabels"/> cut to <paramref name="max"/> (names in
    /// <paramref name="configuredOrder"/> kept in that order after the detected ones), then the level label and
    /// the properties while there is room. <paramref name="dropped"/> names what was left out.
    /// </summary>
    public static (LabelSet Static, bool LevelLabel, string[] LabelProperties) Fit(
        LabelSet staticLabels, bool levelLabel, IReadOnlyList<string> labelProperties, int max, IEnumerable<string> configuredOrder, out List<string> dropped)
    {
        dropped = [];
        var names = staticLabels.Labels.Select(l => l.Key).ToList();
        var configured = configuredOrder.Select(LabelSet.SanitizeName).ToList();
        var order = names
            .OrderBy(n => Array.IndexOf(KeptLongest, n) is var i and >= 0 ? i : KeptLongest.Length)
            .ThenBy(n => configured.IndexOf(n) is var i and >= 0 ? i : int.MaxValue)
            .ThenBy(n => n, StringComparer.Ordinal)
            .ToList();
        var kept = order.Take(Math.Max(max, 1)).ToHashSet(StringComparer.Ordinal);
        dropped.AddRange(order.Skip(kept.Count));
        var fitted = dropped.Count == 0
            ? staticLabels
            : LabelSet.Create(staticLabels.Labels.Where(l => kept.Contains(l.Key)).Select(l => new KeyValuePair<string, string?>(l.Key, l.Value)));

        var room = max - fitted.Count;
        var level = levelLabel && room > 0;
        if (levelLabel && !level)
        {
            dropped.Add("level");
        }

        room -= level ? 1 : 0;
        var properties = labelProperties.Take(Math.Max(room, 0)).ToArray();
        dropped.AddRange(labelProperties.Skip(properties.Length));
        return (fitted, level, properties);
    }
}
