using System.IO.Abstractions;
using LogPersist.LokiTestServer;
using LogPersist.Wal;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Support;

/// <summary>
/// What a SIGKILL left in flight in a WAL directory: the entries the server stored that lie at or after the
/// checkpoint on disk. Whoever ships the directory next starts at that checkpoint, so these, and only these, may be
/// sent again; the server's duplicate count tells how many were.
/// </summary>
internal sealed record InFlight(WalPosition Checkpoint, int Entries, long DuplicatesSoFar)
{
    /// <summary>
    /// Waits until the killed process's connections are closed (every request it sent is answered and recorded), then
    /// reads the checkpoint and the WAL after it. <paramref name="stored"/> picks the server's entries of this WAL.
    /// </summary>
    public static async Task<InFlight> AfterKillAsync(TestServer server, string directory, Func<StoredEntry, bool>? stored = null)
    {
        Assert.True(await server.WaitForNoConnectionsAsync(Shipping.Patience), "the killed process's connections to close");
        var checkpoint = new Checkpoint(new FileSystem(), directory).Load();
        var records = Wals.ReadAll(directory, out var reader, from: checkpoint);
        reader.Dispose();
        var held = Shipping.Sequences(server.Entries.Where(stored ?? (_ => true))).ToHashSet();
        var entries = records.Count(r => r.Kind == RecordKind.Data && Shipping.TryReadSequence(r.Payload, out var sequence) && held.Contains(sequence));
        return new InFlight(checkpoint, entries, server.DuplicatesDropped);
    }

    /// <summary>How many of the server's entries lie at or after the checkpoint of <paramref name="directory"/> now (it may be in use).</summary>
    public static int StoredPastCheckpoint(TestServer server, string directory)
    {
        var records = Wals.ReadAll(directory, out var reader, from: new Checkpoint(new FileSystem(), directory).Load());
        reader.Dispose();
        var held = Shipping.Sequences(server.Entries).ToHashSet();
        return records.Count(r => r.Kind == RecordKind.Data && Shipping.TryReadSequence(r.Payload, out var sequence) && held.Contains(sequence));
    }

    /// <summary>What was sent again since this kill, by the server's duplicate count: at most what the kill left in flight.</summary>
    public void AssertResentAtMostThis(TestServer server, string who)
    {
        var resent = server.DuplicatesDropped - DuplicatesSoFar;
        Assert.True(resent <= Entries, $"{who} resent {resent} entries the server already held; the kill before it left {Entries} in flight");
    }
}
