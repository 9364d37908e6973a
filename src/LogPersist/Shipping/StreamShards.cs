using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// The streams Loki refused for their rate, split from then on over <see cref="Count"/> streams that add
/// the label <see cref="LabelName"/> (<c>"0"</c> to <c>"3"</c>), the way Loki 3's distributor shards a
/// stream over its rate when its own sharding is on: each shard has its own limit, so a stream that
/// logs up to four times Loki's per-stream rate (3 MB/s by default) ships as fast as it logs. An entry's
/// shard follows from its timestamp alone, so a resend goes to the same stream and Loki drops it as a
/// duplicate. A stream stays split for <see cref="Memory"/> after Loki last refused it or one of its
/// shards for the rate. Thread-safe.
/// </summary>
internal sealed class StreamShards
{
    /// <summary>How many streams a stream over its rate is split over.</summary>
    public const int Count = 4;

    /// <summary>The label that tells the shards apart (Loki's own, <c>__stream_shard__</c>, is its distributor's to add).</summary>
    public const string LabelName = "stream_shard";

    /// <summary>How long a stream stays split after its last refusal for the rate.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    private readonly Dictionary<string, long> _refusedAt = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public StreamShards(TimeProvider time) => _time = time;

    /// <summary>Loki refused the stream <paramref name="labels"/>, or one of its shards, for its rate.</summary>
    public void Refused(string labels)
    {
        lock (_refusedAt)
        {
            _refusedAt[labels] = _time.GetTimestamp();
        }
    }

    /// <summary>Whether <paramref name="labels"/> is split now.</summary>
    public bool IsSplit(string labels)
    {
        lock (_refusedAt)
        {
            if (!_refusedAt.TryGetValue(labels, out var at))
            {
                return false;
            }

            if (_time.GetElapsedTime(at) < Memory)
            {
                return true;
            }

            _refusedAt.Remove(labels);
            return false;
        }
    }

    /// <summary>Whether a stream of <paramref name="labels"/> has room for the shard label under <paramref name="maxLabelNames"/>.</summary>
    public static bool HasRoom(LabelSet labels, int maxLabelNames) =>
        labels.Count < maxLabelNames && !labels.Labels.Any(l => l.Key == LabelName);

    /// <summary>The shard of an entry: a mix of its timestamp's bits, so that entries logged together spread evenly.</summary>
    public static int ShardOf(long timestampNs) => (int)((((ulong)timestampNs * 0x9E3779B97F4A7C15UL) >> 32) % Count);

    /// <summary>Splits <paramref name="stream"/> into its shards, in order within each; shards without entries are left out.</summary>
    public static List<PushStream> Split(PushStream stream)
    {
        var shards = new PushStream?[Count];
        foreach (var entry in stream.Entries)
        {
            var shard = ShardOf(entry.TimestampNs);
            var part = shards[shard] ??= new PushStream(stream.Labels.With([new(LabelName, shard.ToString(System.Globalization.CultureInfo.InvariantCulture))]));
            part.Entries.Add(entry);
        }

        return [.. shards.OfType<PushStream>()];
    }
}
