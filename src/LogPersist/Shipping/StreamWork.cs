using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Entries of one stream to send in one request. <see cref="Base"/> is the stream as the batch built it
/// (a shard's is the stream it was split from); a <see cref="Pinned"/> part is sent under its own labels
/// whatever happens to its stream, because Loki may have stored some of it under them.
/// </summary>
internal sealed record StreamPart(PushStream Stream, LabelSet Base, bool Pinned);

/// <summary>
/// What is left to send of a batch, stream by stream, in order. A round takes the next part of each
/// stream; what an answer leads to (halves, a resend) goes before the rest of its stream.
/// </summary>
internal sealed class StreamWork
{
    private readonly Dictionary<string, List<StreamPart>> _byStream = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public void Add(IEnumerable<PushStream> streams)
    {
        foreach (var stream in streams)
        {
            Then(new StreamPart(stream, stream.Labels, Pinned: false));
        }
    }

    /// <summary>A part to send after what is queued for its stream.</summary>
    public void Then(StreamPart part) => Queue(part.Stream.Labels.Text).Add(part);

    /// <summary>Parts to send next for their stream, before the rest of it.</summary>
    public void Next(params StreamPart[] parts) => Queue(parts[0].Stream.Labels.Text).InsertRange(0, parts);

    public List<StreamPart> TakeRound()
    {
        var round = new List<StreamPart>();
        foreach (var labels in _order)
        {
            var queue = _byStream[labels];
            if (queue.Count > 0)
            {
                round.Add(queue[0]);
                queue.RemoveAt(0);
            }
        }

        return round;
    }

    /// <summary>Forgets every part not sent yet and returns the streams (as the batch built them) they were of.</summary>
    public HashSet<string> Clear()
    {
        var pending = _byStream.Values.SelectMany(q => q).Select(p => p.Base.Text).ToHashSet(StringComparer.Ordinal);
        _byStream.Clear();
        _order.Clear();
        return pending;
    }

    private List<StreamPart> Queue(string labels)
    {
        if (!_byStream.TryGetValue(labels, out var queue))
        {
            queue = [];
            _byStream[labels] = queue;
            _order.Add(labels);
        }

        return queue;
    }
}
