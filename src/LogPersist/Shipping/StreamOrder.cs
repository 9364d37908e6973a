using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Keeps each stream's batches in order wherever order matters to Loki. Loki refuses, for good, an
/// entry more than an hour behind the newest entry already stored for its stream ("entry too far
/// behind"), so a later batch that lands first can cost an earlier one its entries. A batch waits
/// for an earlier batch still in flight only when they share a stream whose entries, taken
/// together, span more than <see cref="ConcurrentSpan"/>: then no order of arrival can push either
/// outside Loki's window. Live logging (every batch seconds apart) keeps all its requests in flight
/// at once; a backlog replayed after an outage (hours in one batch) goes one batch at a time per
/// stream, while other streams' batches still pass.
/// </summary>
internal sealed class StreamOrder
{
    /// <summary>
    /// Half of Loki's default out-of-order window (max_chunk_age / 2 = 1 h), so that a server
    /// configured with a shorter chunk age keeps a margin.
    /// </summary>
    public static readonly TimeSpan DefaultConcurrentSpan = TimeSpan.FromMinutes(30);

    private readonly long _spanNs;
    private readonly LinkedList<Flight> _inFlight = new();
    private readonly object _lock = new();

    public StreamOrder(TimeSpan concurrentSpan) =>
        _spanNs = concurrentSpan.Ticks > long.MaxValue / 100 ? long.MaxValue : concurrentSpan.Ticks * 100;

    public TimeSpan ConcurrentSpan => TimeSpan.FromTicks(_spanNs / 100);

    /// <summary>Batches entered and not yet left.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>
    /// Registers <paramref name="batch"/> (batches must enter in WAL order) and returns what it must
    /// wait for before it is sent: the earlier batches it would otherwise overtake out of Loki's window.
    /// Every entered batch must <see cref="Leave"/>, sent or not.
    /// </summary>
    public Task Enter(Batch batch)
    {
        var spans = Spans(batch.Streams);
        var flight = new Flight(batch, spans, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            List<Task>? waits = null;
            foreach (var earlier in _inFlight)
            {
                if (Conflicts(earlier.Spans, spans))
                {
                    (waits ??= []).Add(earlier.Done.Task);
                }
            }

            _inFlight.AddLast(flight);
            return waits is null ? Task.CompletedTask : Task.WhenAll(waits);
        }
    }

    /// <summary>Ends <paramref name="batch"/>'s flight (acknowledged, finally refused, or abandoned at stop): the batches waiting for it go.</summary>
    public void Leave(Batch batch)
    {
        Flight? left = null;
        lock (_lock)
        {
            for (var node = _inFlight.First; node is not null; node = node.Next)
            {
                if (ReferenceEquals(node.Value.Batch, batch))
                {
                    left = node.Value;
                    _inFlight.Remove(node);
                    break;
                }
            }
        }

        left?.Done.TrySetResult();
    }

    private bool Conflicts(Dictionary<string, (long Min, long Max)> earlier, Dictionary<string, (long Min, long Max)> later)
    {
        foreach (var (stream, span) in later)
        {
            if (earlier.TryGetValue(stream, out var other)
                && Math.Max(span.Max, other.Max) - (double)Math.Min(span.Min, other.Min) > _spanNs)
            {
                return true;
            }
        }

        return false;
    }

    private static Dictionary<string, (long Min, long Max)> Spans(List<PushStream> streams)
    {
        var spans = new Dictionary<string, (long Min, long Max)>(streams.Count, StringComparer.Ordinal);
        foreach (var stream in streams)
        {
            if (stream.Entries.Count == 0)
            {
                continue;
            }

            var (min, max) = spans.TryGetValue(stream.Labels.Text, out var known) ? known : (long.MaxValue, long.MinValue);
            foreach (var entry in stream.Entries)
            {
                min = Math.Min(min, entry.TimestampNs);
                max = Math.Max(max, entry.TimestampNs);
            }

            spans[stream.Labels.Text] = (min, max);
        }

        return spans;
    }

    private sealed record Flight(Batch Batch, Dictionary<string, (long Min, long Max)> Spans, TaskCompletionSource Done);
}
