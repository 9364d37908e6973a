namespace LogPersist.Loki;

/// <summary>One entry of a push request: timestamp, line and (when sent as such) structured metadata.</summary>
internal readonly record struct PushEntry(long TimestampNs, string Line, int LineBytes, IReadOnlyList<KeyValuePair<string, string>>? Metadata);

/// <summary>The entries of one stream in a push request.</summary>
internal sealed class PushStream(LabelSet labels)
{
    public LabelSet Labels { get; } = labels;

    public List<PushEntry> Entries { get; } = [];
}
