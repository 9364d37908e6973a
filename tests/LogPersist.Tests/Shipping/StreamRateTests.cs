using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// A stream over Loki's per-stream rate, against the test server's limit in both of Loki's modes (2.x
/// per entry, 3.x whole stream): the stream is split into shards, or paced at the limit Loki names when its
/// labels have no room for the shard label; everything arrives once, and the refusals stop.
/// </summary>
public sealed class StreamRateTests : IDisposable
{
    private const long Rate = 40 << 10;
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("2.9")]
    [InlineData("3.6")]
    public async Task A_stream_over_its_rate_is_split_into_shards_and_every_entry_arrives_once(string version)
    {
        var events = new List<string>();
        using var collector = new EventCollector(events);
        await using var server = await StartServerAsync(version);
        await using var pipeline = Open(server, maxLabelNames: 15);

        // A first batch, refused; a second once the refusal has come back.
        LogHotAndQuiet(pipeline, 0);
        await WaitForAsync(() => server.Requests.Any(r => r.Status == 429), "Loki to refuse the stream for its rate");
        LogHotAndQuiet(pipeline, 300);

        await WaitForAsync(() => Messages(server).Count == 620, "every entry to be stored", () => string.Join("\n", events.Select(e => e[..Math.Min(300, e.Length)])) + string.Join("\n", server.Requests.Select(r => $"{r.Status} {r.Entries} {r.BodyBytes} {r.ResponseBody[..Math.Min(120, r.ResponseBody.Length)]}")));
        Assert.Equal(620, Messages(server).Distinct().Count());

        // The hot stream went on in shards (Loki 2 stored the first refused request in part, so that request went
        // again under its own labels; Loki 3 stored none of it, so it went to the shards at once); the quiet one was never split.
        var hot = server.Entries.Where(e => e.LabelMap["team"] == "hot").ToList();
        var shards = hot.Select(e => e.LabelMap.GetValueOrDefault("stream_shard")).OfType<string>().Distinct().Order().ToList();
        Assert.Equal(["0", "1", "2", "3"], shards);
        Assert.All(server.Entries.Where(e => e.LabelMap["team"] == "quiet"), e => Assert.False(e.LabelMap.ContainsKey("stream_shard")));
        // One refusal for the stream, and at most one for each shard (a burst of them over its own bucket): each is paced after it.
        Assert.InRange(server.Requests.Count(r => r.Status == 429), 1, 1 + StreamShards.Count);
        Assert.Equal(0, pipeline.Shipper!.Metrics.RefusedTotal());
    }

    [Theory]
    [InlineData("2.9")]
    [InlineData("3.6")]
    public async Task A_stream_whose_labels_are_full_is_paced_at_the_named_limit_and_every_entry_arrives_once(string version)
    {
        await using var server = await StartServerAsync(version);

        // service_name, pod and team: no room for a fourth label.
        await using var pipeline = Open(server, maxLabelNames: 3);

        LogHotAndQuiet(pipeline, 0);

        await WaitForAsync(() => Messages(server).Count == 310, "every entry to be stored");
        Assert.Equal(310, Messages(server).Distinct().Count());
        Assert.All(server.Entries, e => Assert.False(e.LabelMap.ContainsKey("stream_shard")));

        // Paced at the rate Loki named, the stream is not refused again but by chance (a request of a later batch that
        // was on its way when the first refusal came back); what would wait too long went to the WAL's tail instead.
        Assert.InRange(server.Requests.Count(r => r.Status == 429), 1, 4);
        Assert.Equal(0, pipeline.Shipper!.Metrics.RefusedTotal());

        // Loki 3 stored none of the refused request: what would have waited more than 2 s was appended again at the
        // WAL's tail. Loki 2 stored some of it: the rest waited its turn under its own labels, and nothing was held.
        if (version.StartsWith('3'))
        {
            Assert.True(pipeline.Shipper.Metrics.HeldTotal > 0, "entries held");
        }
        else
        {
            Assert.Equal(0, pipeline.Shipper.Metrics.HeldTotal);
        }
    }

    [Fact]
    public async Task A_shard_paced_for_too_long_is_held_at_the_tail_and_arrives_once_under_its_shard()
    {
        await using var server = await StartServerAsync("3.6", rate: Rate / 2);
        await using var pipeline = Open(server, maxLabelNames: 15);

        // Twice a shard's burst for each shard at once: the shards are refused in turn, paced at half of it, and
        // what cannot go within 2 s goes to the WAL's tail.
        LogHotAndQuiet(pipeline, 0);
        await WaitForAsync(() => server.Requests.Any(r => r.Status == 429), "Loki to refuse the stream for its rate");
        LogHotAndQuiet(pipeline, 300);
        LogHotAndQuiet(pipeline, 600);

        await WaitForAsync(() => Messages(server).Count == 930, "every entry to be stored");
        Assert.Equal(930, Messages(server).Distinct().Count());
        Assert.True(pipeline.Shipper!.Metrics.HeldTotal > 0, "entries held");
        Assert.All(server.Entries.Where(e => Message(e.Line).StartsWith("hot ", StringComparison.Ordinal) && e.LabelMap.ContainsKey("stream_shard")), e =>
            Assert.Equal(StreamShards.ShardOf(e.TimestampNs).ToString(System.Globalization.CultureInfo.InvariantCulture), e.LabelMap["stream_shard"]));
        Assert.Equal(0, pipeline.Shipper.Metrics.RefusedTotal());
    }

    private static async Task<TestServer> StartServerAsync(string version, long rate = Rate)
    {
        var parts = version.Split('.');
        return await TestServer.StartAsync(new LokiTestServerOptions
        {
            Dialect = LokiDialect.Of(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)),
            PerStreamRateBytesPerSecond = rate,
            PerStreamBurstBytes = 2 * Rate,
        });
    }

    private LogPipeline Open(TestServer server, int maxLabelNames) => LogPipeline.Open(new LogPersistOptions
    {
        Directory = _root.Path,
        ServiceName = "orders",
        Instance = "orders-0",
        LokiUrl = server.BaseAddress.ToString(),
        LabelProperties = ["team"],
        MaxLabelNames = maxLabelNames,
        BatchMaxWait = TimeSpan.FromMilliseconds(50),
        StructuredMetadata = StructuredMetadataMode.Off,
        Environment = _ => null,
    });

    /// <summary>About 4 s of the hot stream's rate, twice Loki's burst, at once (500 B lines), and a few entries of a quiet stream among them.</summary>
    private static void LogHotAndQuiet(LogPipeline pipeline, int first)
    {
        var padding = new string('x', 400);
        for (var i = first; i < first + 300; i++)
        {
            pipeline.Append(TeamEntry("hot", $"hot {i} {padding}"));
            if (i % 30 == 0)
            {
                pipeline.Append(TeamEntry("quiet", $"quiet {i}"));
            }
        }
    }
}
