using System.Net;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// Each stream's own rate with burst: 3.x refuses the stream's whole share of a push over it, 2.x the entries over it,
/// both with the ingester's 429 body; the push's other streams are stored (STREAM-LIMITS.md).
/// </summary>
public sealed class StreamRateLimitTests
{
    private static Task<TestServer> StartAsync(ManualTime time, LokiDialect? dialect = null, double rate = 10, long? burst = 20) =>
        TestServer.StartAsync(new LokiTestServerOptions
        {
            TimeProvider = time,
            Dialect = dialect ?? LokiDialect.V3,
            PerStreamRateBytesPerSecond = rate,
            PerStreamBurstBytes = burst,
        });

    private static string Reason(string stream, string bytes, string limit = "10B") =>
        $"Per stream rate limit exceeded (limit: {limit}/sec) while attempting to ingest for stream '{stream}' totaling {bytes}, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased";

    [Fact]
    public async Task Stream_over_its_rate_is_refused_whole_in_3x_while_the_other_stream_is_stored_and_the_bucket_refills()
    {
        var time = Clock();
        await using var server = await StartAsync(time);
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "fifteen bytes!!")))));

        var (over, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.Zero), "ten bytes!")),
            Stream("{app=\"x\"}", Entry(Ns(TimeSpan.FromSeconds(1)), "five!"), Entry(Ns(TimeSpan.FromSeconds(2)), "five?")))));
        time.Advance(TimeSpan.FromSeconds(1));
        var (refilled, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.FromSeconds(3)), "fifteen bytes??")))));

        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.NoContent), (over, refilled));
        const string X = "{app=\"x\", service_name=\"x\"}";
        Assert.Equal(
            $"""
            entry with timestamp 2026-01-01 00:00:01 +0000 UTC ignored, reason: '{Reason(X, "5B")}',
            entry with timestamp 2026-01-01 00:00:02 +0000 UTC ignored, reason: '{Reason(X, "5B")}',
            user 'fake', total ignored: 2 out of 2 for stream: {X}

            """,
            body);
        Assert.Equal(["fifteen bytes!!", "ten bytes!", "fifteen bytes??"], server.Entries.Select(e => e.Line));
        Assert.Equal((2, 1), (server.Requests[1].Refused, server.Requests[1].Stored));
    }

    [Fact]
    public async Task A_2x_stream_loses_only_the_entries_over_its_rate()
    {
        await using var server = await StartAsync(Clock(), LokiDialect.V2_9);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.Zero), "fifteen bytes!!"),
            Entry(Ns(TimeSpan.FromSeconds(1)), "ten bytes!"),
            Entry(Ns(TimeSpan.FromSeconds(2)), "five!")))));

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(
            $"""
            entry with timestamp 2026-01-01 00:00:01 +0000 UTC ignored, reason: '{Reason("{app=\"x\"}", "10B")}',
            user 'fake', total ignored: 1 out of 3 for stream: {"{app=\"x\"}"}

            """,
            body);
        Assert.Equal(["fifteen bytes!!", "five!"], server.Entries.Select(e => e.Line));
        Assert.Equal((1, 2), (server.Requests[0].Refused, server.Requests[0].Stored));
    }

    // The small late entry passes the rate (taking its tokens) and is then refused by the window: the last refusal is a 400.
    [Fact]
    public async Task A_2x_answer_takes_the_status_of_the_last_refusal()
    {
        await using var server = await StartAsync(Clock(), LokiDialect.V2_9);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.Zero), "fifteen bytes!!"),
            Entry(Ns(TimeSpan.FromSeconds(1)), "ten bytes!"),
            Entry(Ns(TimeSpan.FromHours(-2)), "late")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("Per stream rate limit exceeded", body, StringComparison.Ordinal);
        Assert.Contains("entry too far behind", body, StringComparison.Ordinal);
        Assert.Contains("user 'fake', total ignored: 2 out of 3", body, StringComparison.Ordinal);
        Assert.Equal(["fifteen bytes!!"], server.Entries.Select(e => e.Line));
    }

    [Fact]
    public async Task A_3x_refusal_leaves_the_stream_as_it_was_and_counts_only_the_rate_refusals_in_its_body()
    {
        var time = Clock();
        await using var server = await StartAsync(time);
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "fifteen bytes!!")))));

        var (over, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.FromHours(-2)), "old"),
            Entry(Ns(TimeSpan.FromMinutes(5)), "ten bytes!")))));
        time.Advance(TimeSpan.FromSeconds(1));
        var (within, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.FromMinutes(-59)), "ten bytes!")))));

        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.NoContent), (over, within));
        Assert.DoesNotContain("too far behind", body, StringComparison.Ordinal);
        Assert.EndsWith("user 'fake', total ignored: 1 out of 2 for stream: {app=\"x\", service_name=\"x\"}\n", body, StringComparison.Ordinal);
        Assert.Equal((2, 0), (server.Requests[1].Refused, server.Requests[1].Stored));
        Assert.Equal(["fifteen bytes!!", "ten bytes!"], server.Entries.Select(e => e.Line));
    }

    [Theory]
    [InlineData(3, 3, HttpStatusCode.TooManyRequests)]
    [InlineData(3, 2, HttpStatusCode.NoContent)]
    public async Task Structured_metadata_counts_against_the_stream_rate_from_3_3(int major, int minor, HttpStatusCode expected)
    {
        await using var server = await StartAsync(Clock(), LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "fifteen bytes!!", ("trace", "id"))))));

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Each_stream_has_its_own_bucket()
    {
        await using var server = await StartAsync(Clock());
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "twenty bytes, exact!")),
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.Zero), "twenty bytes, exact!")))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(2, server.EntryCount);
    }

    [Fact]
    public async Task Stream_share_larger_than_the_burst_is_refused_every_time_with_sizes_printed_as_Loki_does()
    {
        var time = Clock();
        await using var server = await StartAsync(time, rate: 3 * 1024 * 1024, burst: 1024);
        using var http = new HttpClient();
        var line = new string('a', 2048);

        var (first, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line)))));
        time.Advance(TimeSpan.FromHours(1));
        var (later, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line)))));

        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests), (first, later));
        Assert.Contains($"reason: '{Reason("{app=\"x\", service_name=\"x\"}", "2KB", limit: "3MB")}',", body, StringComparison.Ordinal);
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Without_the_option_no_stream_rate_applies()
    {
        await using var server = await ServerTesting.StartAsync();
        using var http = new HttpClient();
        var line = new string('a', 200 * 1024);
        var statuses = new List<HttpStatusCode>();

        // 18 MB at one instant: more than Loki's 15 MB per-stream burst.
        for (var push = 0; push < 5; push++)
        {
            var entries = Enumerable.Range(0, 18).Select(i => Entry(Ns(TimeSpan.FromMilliseconds((push * 18) + i)), line)).ToArray();
            statuses.Add((await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", entries))))).Status);
        }

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.NoContent, status));
        Assert.Equal(90, server.EntryCount);
    }
}
