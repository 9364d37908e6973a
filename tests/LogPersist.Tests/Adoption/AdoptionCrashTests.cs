using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Xunit.Abstractions;
using static LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Adoption;

/// <summary>
/// Kills in the middle of shipping: an owner killed while its batches are in flight, the adopter that took its WAL
/// killed while one of its own is in flight and part of the WAL is acknowledged, and a second adopter that resumes.
/// Every returned entry must arrive once, and each kill may cost a resend of only what it left in flight.
/// </summary>
public sealed class AdoptionCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_owner_and_then_its_adopter_killed_mid_shipping_lose_nothing_and_resend_only_what_was_in_flight()
    {
        using var root = new TempDirectory();

        // Structured metadata is on (3.x), and a resend carries adopted_by where the first send did not: the 3.6
        // dialect drops it as a duplicate all the same. The head block holds everything, so every resend is counted.
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1", HeadBlockBytes = int.MaxValue });
        var random = new Random(20_261_203);
        var area = Siblings.AdoptionArea(root);
        bool Orders(StoredEntry e) => e.LabelMap["pod"] == "orders-a";

        // The owner logs and ships, and is killed at a random point with batches in flight.
        HashSet<long> returned;
        using (var owner = CrashHelperProcess.Start("pipeline", root.Path, Siblings.Service, "orders-a", server.BaseAddress, 1, 1_000_000))
        {
            owner.WaitForReady(Patience);
            Assert.True(await server.WaitForEntriesAsync(random.Next(2_000, 20_000), Patience), "the owner to ship");

            // From here the owner's requests are held, still in flight when it is killed, while it logs on: the
            // adopter finds a backlog well over the six requests scripted below, however the machine's load
            // shares the CPU between the owner's logging and its shipping (which can otherwise keep up).
            server.Enqueue([.. Enumerable.Repeat(ScriptedResponse.Stall(new TaskCompletionSource().Task), 50)]);
            owner.WaitUntil(lines => lines.Count > server.EntryCount + 100_000, "a backlog of 100,000 entries past what was shipped", Patience);
            owner.Kill();
            returned = Siblings.Reported(owner);
        }

        var ownerKill = await InFlight.AfterKillAsync(server, Siblings.Directory(root, "orders-a"), Orders);
        server.ClearScripts();
        var shippedByOwner = server.Entries.Count(Orders);

        // The first adopter moves the directory and ships it one request at a time: Loki accepts a random number of
        // them, then holds the next, and the adopter is killed with that request in flight.
        var accepted = random.Next(1, 6);
        server.Enqueue([.. Enumerable.Repeat(ScriptedResponse.Stall(Task.CompletedTask), accepted), ScriptedResponse.Stall(new TaskCompletionSource().Task)]);
        var firstMove = Path.Combine(area, AdoptionArea.AdoptedName("orders-a", 1));
        using (var adopter = CrashHelperProcess.Start("pipeline", root.Path, Siblings.Service, "live-b", server.BaseAddress, 1, 0, "adopt"))
        {
            adopter.WaitForReady(Patience);
            await WaitForAsync(() => server.QueuedScripts == 0, $"{accepted} accepted requests of the adopter and the next one held");
            adopter.Kill();
        }

        var adopterKill = await InFlight.AfterKillAsync(server, firstMove, Orders);
        ownerKill.AssertResentAtMostThis(server, "the first adopter");

        // Part of the WAL was acknowledged by the first adopter (its first requests resend what the owner left in flight).
        Assert.True(adopterKill.Checkpoint > ownerKill.Checkpoint, $"the first adopter acknowledged part of the WAL: {ownerKill.Checkpoint} -> {adopterKill.Checkpoint}");

        // A second adopter resumes the interrupted adoption from where the first one's acknowledgements got to.
        await using (var resumer = LogPipeline.Open(Siblings.Options(root, "live-c", server.BaseAddress.ToString(), adopt: true)))
        {
            // It also adopts the killed adopter's own (empty) directory; the one that matters is done when its
            // directory and every claim on it are gone.
            await WaitForAsync(() => !Directory.EnumerateFileSystemEntries(area, "orders-a.*").Any(), "the adoption to be resumed and finished");
        }

        adopterKill.AssertResentAtMostThis(server, "the second adopter");
        var stored = Sequences(server.Entries.Where(Orders));
        Assert.Equal(stored.Count, stored.Distinct().Count());
        var missing = returned.Except(stored).Take(5).ToList();
        Assert.True(missing.Count == 0, $"{returned.Except(stored).Count()} returned entries never arrived, e.g. {string.Join(", ", missing)}");
        Assert.Contains(server.Entries.Where(Orders), e => e.StructuredMetadata.Contains(new("adopted_by", "live-c")));
        Assert.False(Directory.Exists(Siblings.Directory(root, "orders-a")));
        output.WriteLine(
            $"{returned.Count} returned; the owner shipped {shippedByOwner} and left {ownerKill.Entries} in flight; " +
            $"the first adopter had {accepted} requests accepted and left {adopterKill.Entries} in flight; {server.DuplicatesDropped} resent in all");
    }
}
