using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// The checkpoint rule for batches that finish out of order: it moves only over the contiguous prefix of finished
/// batches, so a batch that Loki accepted early never carries the checkpoint past an earlier one still in flight.
/// </summary>
public sealed class AckTrackerTests
{
    private static readonly WalPosition Start = new(1, 64);

    private readonly List<WalPosition> _saved = [];

    private AckTracker NewTracker() => new(Start, position =>
    {
        _saved.Add(position);
        return true;
    });

    private static Batch Batch(WalPosition start, WalPosition end) => new() { Start = start, End = end, Streams = [] };

    [Fact]
    public void A_later_batch_finished_first_leaves_the_checkpoint_before_the_earlier_one_until_that_finishes()
    {
        var tracker = NewTracker();
        var first = Batch(Start, new(1, 4_000));
        var second = Batch(first.End, new(2, 64));
        var third = Batch(second.End, new(2, 2_000));
        tracker.Add(first);
        tracker.Add(second);
        tracker.Add(third);
        var secondAcknowledged = tracker.WhenAcknowledged(second.End);

        Assert.Equal(0, tracker.Complete(second));
        Assert.Equal(0, tracker.Complete(third));

        Assert.Empty(_saved);
        Assert.Equal(Start, tracker.Acknowledged);
        Assert.False(secondAcknowledged.IsCompleted);
        Assert.Equal(3, tracker.Pending);

        // Three batches leave at once (the shipper frees their slots only now), with one save over all three.
        Assert.Equal(3, tracker.Complete(first));
        Assert.Equal([third.End], _saved);
        Assert.Equal(third.End, tracker.Acknowledged);
        Assert.True(secondAcknowledged.IsCompletedSuccessfully);
        Assert.Equal(0, tracker.Pending);
    }

    [Fact]
    public void The_checkpoint_stops_at_the_first_batch_still_in_flight()
    {
        var tracker = NewTracker();
        var first = Batch(Start, new(1, 1_000));
        var second = Batch(first.End, new(1, 2_000));
        var third = Batch(second.End, new(1, 3_000));
        var fourth = Batch(third.End, new(1, 4_000));
        foreach (var batch in new[] { first, second, third, fourth })
        {
            tracker.Add(batch);
        }

        Assert.Equal(1, tracker.Complete(first));
        Assert.Equal(0, tracker.Complete(third));
        Assert.Equal([first.End], _saved);
        Assert.False(tracker.WhenAcknowledged(third.End).IsCompleted);

        Assert.Equal(2, tracker.Complete(second));
        Assert.Equal([first.End, third.End], _saved);
        Assert.Equal(1, tracker.Pending);

        tracker.Complete(fourth);
        Assert.Equal([first.End, third.End, fourth.End], _saved);
    }

    [Fact]
    public void The_oldest_pending_timestamp_ignores_finished_batches_but_the_checkpoint_waits_for_them_all()
    {
        var tracker = NewTracker();
        var first = new Batch { Start = Start, End = new(1, 1_000), Streams = [], OldestTimestampNs = 100 };
        var second = new Batch { Start = first.End, End = new(1, 2_000), Streams = [], OldestTimestampNs = 50 };
        tracker.Add(first);
        tracker.Add(second);

        tracker.Complete(second);

        Assert.Equal(100, tracker.OldestPendingTimestampNs);
        Assert.Equal(Start, tracker.Acknowledged);
    }
}
