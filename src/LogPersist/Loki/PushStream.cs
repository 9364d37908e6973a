namespace LogPersist.Loki;

/// <summary>
/// One entry of a push request: timestamp, line and (when sent as such) structured metadata.
/// <see cref="Marker"/> is true for LogPersist's own marker entries (refusals, drops), which Loki's
/// refusal of never produces another marker.
/// </summary>
internal readonly record struct PushEntry(long TimestampNs, string Line, int LineBytes, IReadOnlyList<KeyValuePair<string, string>>? Metadata, bool Marker = false);

/// <summary>The entries of one stream in a push request.</summary>
internal sealed class PushStream(LabelSet labels)
{
    public LabelSet Labels { get; } = labels;

    public List<PushEntry> Entries { get; } = [];
}
