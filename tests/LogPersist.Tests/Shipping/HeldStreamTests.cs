using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>A 429 that names one stream (Loki's stream limit) holds that stream only: the others ship on, nothing is lost.</summary>
public sealed class HeldStreamTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_stream_over_Lokis_stream_limit_is_held_while_the_others_are_stored_and_arrives_once_the_limit_clears()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { MaxStreamsPerTenant = 2 });
        await using var pipeline = LogPipeline.Open(new LogPersistOptions
        {
            Directory = _root.Path,
            ServiceName = "orders",
            Instance = "orders-0",
            LokiUrl = server.BaseAddress.ToString(),
            LabelProperties = ["team"],
            BatchMaxWait = TimeSpan.FromMilliseconds(50),
            StructuredMetadata = StructuredMetadataMode.Off,
            Environment = _ => null,
        });

        // Streams a and b exist; the tenant is at its limit of two.
        foreach (var team in (string[])["a", "b"])
        {
            for (var i = 0; i < 10; i++)
            {
                pipeline.Append(TeamEntry(team, $"{team} {i}"));
            }
        }

        await WaitForAsync(() => Messages(server).Count == 20, "the first two streams to be stored");
        var start = pipeline.Wal.Checkpoint;

        // One batch of the three streams: the new one, c, is over the limit; its answer is its own.
        foreach (var team in (string[])["a", "c", "b"])
        {
            for (var i = 10; i < 20; i++)
            {
                pipeline.Append(TeamEntry(team, $"{team} {i}"));
            }
        }

        for (var i = 0; i < 10; i++)
        {
            pipeline.Append(TeamEntry("c", $"c {i}"));
        }

        await WaitForAsync(() => pipeline.Shipper!.Metrics.HeldTotal >= 20, "the third stream to be held");
        await WaitForAsync(() => Messages(server).Count(m => m.StartsWith("a ", StringComparison.Ordinal) || m.StartsWith("b ", StringComparison.Ordinal)) == 40, "the other streams to be stored");
        Assert.DoesNotContain(Messages(server), m => m.StartsWith("c ", StringComparison.Ordinal));
        await WaitForAsync(() => pipeline.Wal.Checkpoint > start, "the checkpoint to move past the batch");

        // The other streams keep shipping while the third one waits.
        for (var i = 0; i < 10; i++)
        {
            pipeline.Append(TeamEntry("a", $"a later {i}"));
        }

        await WaitForAsync(() => Messages(server).Count(m => m.StartsWith("a later", StringComparison.Ordinal)) == 10, "later entries of a stored stream");
        Assert.DoesNotContain(Messages(server), m => m.StartsWith("c ", StringComparison.Ordinal));

        // Idle streams flushed, room again under the limit: the held entries arrive, each once.
        server.ForgetStreams();
        await WaitForAsync(() => Messages(server).Count(m => m.StartsWith("c ", StringComparison.Ordinal)) == 20, "the held stream to be stored");
        var messages = Messages(server);
        Assert.Equal(70, messages.Count);
        Assert.Equal(70, messages.Distinct().Count());
        Assert.All(server.Entries.Where(e => Message(e.Line).StartsWith("c ", StringComparison.Ordinal)), e => Assert.Equal("c", e.LabelMap["team"]));
    }
}
