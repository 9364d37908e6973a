using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogEntry = LogPersist.Entries.LogEntry;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using ScriptedResponse = LogPersist.LokiTestServer.ScriptedResponse;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>Batches of one stream never overtake each other out of Loki's window; other streams and live logging still go in parallel.</summary>
public sealed class StreamOrderTests : IAsyncLifetime
{
    private static readonly long Minute = 60_000_000_000L;
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private static Batch Batch(params (string Pod, long FromNs, long ToNs)[] streams)
    {
        var list = new List<PushStream>();
        foreach (var (pod, from, to) in streams)
        {
            var stream = new PushStream(LabelSet.Create([new("pod", pod)]));
            stream.Entries.Add(new PushEntry(from, "a"u8.ToArray(), null));
            stream.Entries.Add(new PushEntry(to, "b"u8.ToArray(), null));
            list.Add(stream);
        }

        return new Batch { Start = default, End = default, Streams = list, Entries = list.Count * 2 };
    }

    [Fact]
    public void Live_batches_of_one_stream_go_together()
    {
        var order = new StreamOrder(TimeSpan.FromMinutes(30));
        Assert.True(order.Enter(Batch(("a", 0, Minute))).IsCompleted);
        Assert.True(order.Enter(Batch(("a", Minute, 2 * Minute))).IsCompleted);
        Assert.True(order.Enter(Batch(("a", 2 * Minute, 3 * Minute))).IsCompleted);
    }

    [Fact]
    public void A_batch_that_could_push_an_earlier_one_out_of_the_window_waits_for_it()
    {
        var order = new StreamOrder(TimeSpan.FromMinutes(30));
        var first = Batch(("a", 0, 50 * Minute));
        Assert.True(order.Enter(first).IsCompleted);
        var second = order.Enter(Batch(("a", 50 * Minute, 100 * Minute)));
        var otherStream = order.Enter(Batch(("b", 0, 100 * Minute)));

        Assert.False(second.IsCompleted);
        Assert.True(otherStream.IsCompleted);
        order.Leave(first);
        Assert.True(second.IsCompleted);
    }

    [Fact]
    public void A_batch_waits_only_for_the_earlier_batches_it_conflicts_with()
    {
        var order = new StreamOrder(TimeSpan.FromMinutes(30));
        var early = Batch(("a", 0, Minute), ("b", 0, Minute));
        var later = Batch(("b", 2 * Minute, 3 * Minute));
        Assert.True(order.Enter(early).IsCompleted);
        Assert.True(order.Enter(later).IsCompleted);
        var third = order.Enter(Batch(("a", 90 * Minute, 91 * Minute), ("b", 3 * Minute, 4 * Minute)));

        Assert.False(third.IsCompleted);
        order.Leave(later);
        Assert.False(third.IsCompleted);
        order.Leave(early);
        Assert.True(third.IsCompleted);
    }

    [Fact]
    public async Task A_six_hour_backlog_of_one_stream_replayed_through_a_failing_first_push_loses_nothing()
    {
        // 720 entries of one low-rate stream over 6 hours (one every 30 s): each 16 KiB batch spans about an hour,
        // so a later batch landing first would make Loki refuse the earlier one's entries as too far behind.
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var start = LogEntry.NowNs(TimeProvider.System) - (6 * 60 * Minute);
        Log(wal, 0, 720, s => Entry(s, timestampNs: start + (s * Minute / 2)));
        _server.Enqueue(ScriptedResponse.Status(503), ScriptedResponse.Status(503), ScriptedResponse.Status(503));
        var options = Options(_server.BaseAddress);
        options.MaxInFlight = 4;
        await using var shipper = new Shipper(wal, options);

        shipper.Start();
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(_server.Requests.Count(r => r.Status == 204) >= 5, "the backlog went out in several batches");
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        Assert.All(_server.Requests, r => Assert.Equal(0, r.Refused));
        var sequences = Sequences(_server.Entries);
        Assert.Equal(Enumerable.Range(0, 720).Select(i => (long)i), sequences.Order());
        Assert.Equal(0, _server.DuplicatesDropped);
    }

    [Fact]
    public async Task Without_the_order_the_same_replay_loses_entries_to_the_window()
    {
        // The same replay with the order turned off: shows that the test above can fail.
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var start = LogEntry.NowNs(TimeProvider.System) - (6 * 60 * Minute);
        Log(wal, 0, 720, s => Entry(s, timestampNs: start + (s * Minute / 2)));
        // The first push is held until later batches were stored.
        _server.Enqueue(ScriptedResponse.Stall(_server.WaitForEntriesAsync(200, Patience)));
        var options = Options(_server.BaseAddress);
        options.MaxInFlight = 4;
        options.ConcurrentSpan = TimeSpan.MaxValue;
        await using var shipper = new Shipper(wal, options);

        shipper.Start();
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(shipper.Metrics.Refused(RefusalReason.TooFarBehind) > 0, "a later batch overtook the first and pushed it out of the window");
    }
}
