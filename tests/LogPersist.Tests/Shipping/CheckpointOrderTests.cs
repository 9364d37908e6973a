using System.IO.Abstractions;
using LogPersist.LokiTestServer;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using static LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// Batches that Loki answers out of order, end to end: a later batch accepted while an earlier one is held never moves
/// the checkpoint past the earlier one, on disk or in memory, and nothing is resent once both are accepted.
/// </summary>
public sealed class CheckpointOrderTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task A_batch_accepted_while_an_earlier_one_is_held_leaves_the_checkpoint_before_the_held_one()
    {
        var release = new TaskCompletionSource();
        _server.Enqueue(ScriptedResponse.Stall(release.Task));
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var start = wal.Checkpoint;
        var options = Options(_server.BaseAddress);

        // The held request must not time out and be sent again meanwhile, however slow the machine.
        options.Loki.AttemptTimeout = TimeSpan.FromMinutes(5);
        await using var shipper = new Shipper(wal, options);

        // The first batch goes out alone, so it is the request the server holds; the later ones follow it.
        Log(wal, 0, 50);
        shipper.Start();
        await WaitForAsync(() => _server.QueuedScripts == 0, "the first batch to reach the server and be held");
        Log(wal, 50, 950);

        // The shipper has taken in Loki's answer to the later batch (and recorded it) while the first is still held.
        await WaitForAsync(() => shipper.Metrics.ShippedEntries > 0, "a later batch to be accepted while the first is held");
        Assert.Equal(start, wal.Checkpoint);
        Assert.Equal(start, shipper.Acknowledged);
        Assert.Equal(start, new Checkpoint(new FileSystem(), _dir.Path).Load());

        // The accepted batch waits for the held one in memory and keeps its slot meanwhile: no batch beyond the
        // slots is read, sent or held, however long the first one takes (here, what a crash now would resend).
        Assert.InRange(shipper.PendingBatches, 1, options.MaxInFlight);
        var answeredWhileHeld = _server.Requests.Count;
        release.SetResult();
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(wal.Checkpoint > start, $"the checkpoint {wal.Checkpoint} moved once the held batch was accepted");
        Assert.Equal(Enumerable.Range(0, 1_000).Select(i => (long)i), Sequences(_server.Entries).Order());
        Resends.AssertNone(_server);
        Assert.InRange(answeredWhileHeld, 1, options.MaxInFlight - 1);
    }
}
