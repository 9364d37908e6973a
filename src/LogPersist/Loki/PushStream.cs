namespace LogPersist.Loki;

/// <summary>
/// One entry of a push request: timestamp, the line as the UTF-8 bytes Loki stores, and (when sent as
/// such) structured metadata. The line's memory belongs to whoever built the entry and must outlive
/// every encoding of it. <see cref="Marker"/> is true for LogPersist's own marker entries (refusals,
/// drops), which Loki's refusal of never produces another marker.
/// </summary>
internal readonly record struct PushEntry(long TimestampNs, ReadOnlyMemory<byte> Line, IReadOnlyList<KeyValuePair<string, string>>? Metadata, bool Marker = false)
{
    public int LineBytes => Line.Length;
}

/// <summary>The entries of one stream in a push request.</summary>
internal sealed class PushStream(LabelSet labels)
{
    public LabelSet Labels { get; } = labels;

    public List<PushEntry> Entries { get; } = [];
}
