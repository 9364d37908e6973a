using System.Globalization;
using LogPersist.Tests.Support;
using Xunit.Abstractions;
using static LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// Kills a child that logs while its shipper pushes to the test server, again and again, then lets
/// a last clean run drain the WAL: every entry the child reported as logged must be in the server
/// exactly once, and each kill may cost a resend of only what was in flight when it struck.
/// </summary>
public sealed class ShipperCrashTests(ITestOutputHelper output)
{
    private const int Runs = 20;
    private const long SequencesPerRun = 1_000_000;

    /// <summary>The crash helper's shipper keeps the default: two batches in flight.</summary>
    private const int MaxInFlight = 2;

    [Fact]
    public async Task Every_logged_entry_reaches_loki_exactly_once_across_repeated_SIGKILL_and_each_kill_resends_only_what_was_in_flight()
    {
        // Loki drops an identical resend only while the first copy is still in the stream's head block (256 KiB
        // of lines) or is the stream's last entry; a resend of a 1 MiB batch after a kill can outrun that. This test
        // is about the shipper's side (every entry sent until acknowledged, resends identical and few), so the server
        // here keeps every entry in its head block and counts every resend; the README says what a real Loki may show.
        await using var server = await TestServer.StartAsync(new LogPersist.LokiTestServer.LokiTestServerOptions { HeadBlockBytes = int.MaxValue });
        using var dir = new TempDirectory();
        var random = new Random(20_261_123);
        var reported = new HashSet<long>();
        InFlight? previous = null;
        for (var run = 1; run <= Runs; run++)
        {
            var first = run * SequencesPerRun;
            var shipped = server.EntryCount + random.Next(1, 20_000);
            // Odd runs write as LogPersist 0.1 did (format 1 segments), even ones with string tables: the WAL holds both.
            using var helper = CrashHelperProcess.Start("ship", dir.Path, server.BaseAddress, 2, first, 20_000, run % 2 == 1 ? "v1" : "v2");
            helper.WaitForReady();
            // Kill at a random point of the shipping, with batches in flight and (sometimes) logging still going.
            Assert.True(await server.WaitForEntriesAsync(shipped, Patience), $"run {run}: the server never reached {shipped} entries");
            helper.Kill();

            var count = 0;
            foreach (var line in helper.Lines.Skip(1))
            {
                if (line.StartsWith("A ", StringComparison.Ordinal))
                {
                    Assert.True(reported.Add(long.Parse(line.AsSpan(2), CultureInfo.InvariantCulture)));
                    count++;
                }
            }

            var kill = await InFlight.AfterKillAsync(server, dir.Path);
            previous?.AssertResentAtMostThis(server, $"run {run}");

            // Only batches that were sent and not yet passed by the checkpoint can be stored past it.
            var largestRequest = server.Requests.Max(r => r.Entries);
            Assert.True(
                kill.Entries <= MaxInFlight * largestRequest,
                $"run {run}: {kill.Entries} entries stored past the checkpoint {kill.Checkpoint}; at most {MaxInFlight} batches of at most {largestRequest} can be in flight");
            previous = kill;
            output.WriteLine($"run {run,2}: killed after {count,6} logged entries; server holds {server.EntryCount,7}; {kill.Entries,4} stored but not acknowledged");
        }

        using (var drain = CrashHelperProcess.Start("drain", dir.Path, server.BaseAddress))
        {
            drain.WaitUntil(lines => lines.Contains("DRAINED") || lines.Contains("NOT DRAINED"), "the drain to finish", TimeSpan.FromSeconds(90));
            Assert.Contains("DRAINED", drain.Lines);
        }

        Assert.True(await server.WaitForNoConnectionsAsync(Patience), "the drain's connections to close");
        previous!.AssertResentAtMostThis(server, "the drain");

        var stored = Sequences(server.Entries);
        var duplicates = stored.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, "stored more than once: " + string.Join(", ", duplicates));
        var missing = reported.Except(stored).Take(5).ToList();
        Assert.True(missing.Count == 0, $"{reported.Except(stored).Count()} logged entries never arrived, e.g. " + string.Join(", ", missing));
        output.WriteLine($"{reported.Count} reported, {stored.Count} stored, {server.DuplicatesDropped} identical resends dropped by the server");
    }
}
