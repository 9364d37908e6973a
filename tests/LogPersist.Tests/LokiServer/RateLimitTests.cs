using System.Net;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>The per-tenant ingestion rate with burst: a push over it is answered 429 and nothing of it is stored.</summary>
public sealed class RateLimitTests
{
    private static ByteArrayContent Line(string line, params (string Name, string Value)[] metadata) =>
        Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line, metadata))));

    private static Task<TestServer> StartAsync(ManualTime time, LokiDialect? dialect = null) =>
        TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = time, Dialect = dialect ?? LokiDialect.V3, IngestionRateBytesPerSecond = 10, IngestionBurstBytes = 20 });

    [Fact]
    public async Task Push_over_the_rate_is_refused_429_until_the_bucket_refills()
    {
        var time = Clock();
        await using var server = await StartAsync(time);
        using var http = new HttpClient();

        var (first, _) = await PushAsync(http, server, Line("fifteen bytes!!"));
        var (over, body) = await PushAsync(http, server, Line("ten bytes!"));
        time.Advance(TimeSpan.FromSeconds(1));
        var (refilled, _) = await PushAsync(http, server, Line("ten bytes!"));

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.TooManyRequests, HttpStatusCode.NoContent], new[] { first, over, refilled });
        Assert.Equal(
            "ingestion rate limit exceeded for user fake (limit: 10 bytes/sec) while attempting to ingest '1' lines totaling '10' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased\n",
            body);
        Assert.Equal(["fifteen bytes!!", "ten bytes!"], server.Entries.Select(e => e.Line));
        Assert.Equal((1, 0), (server.Requests[1].Refused, server.Requests[1].Stored));
    }

    [Fact]
    public async Task Push_larger_than_the_burst_is_refused_every_time()
    {
        var time = Clock();
        await using var server = await StartAsync(time);
        using var http = new HttpClient();

        var (first, _) = await PushAsync(http, server, Line("twenty-one bytes long"));
        time.Advance(TimeSpan.FromHours(1));
        var (later, _) = await PushAsync(http, server, Line("twenty-one bytes long"));

        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests), (first, later));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Only_entries_that_pass_validation_count_and_the_429_replaces_their_errors()
    {
        await using var server = await StartAsync(Clock());
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.FromDays(-8)), "too old and not counted at all"),
            Entry(Ns(TimeSpan.Zero), "eleven byte"),
            Entry(Ns(TimeSpan.Zero), "twelve bytes")))));

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Contains("while attempting to ingest '2' lines totaling '23' bytes", body, StringComparison.Ordinal);
        Assert.Equal(0, server.EntryCount);
    }

    [Theory]
    [InlineData(3, 3, HttpStatusCode.TooManyRequests)]
    [InlineData(3, 2, HttpStatusCode.NoContent)]
    public async Task Structured_metadata_counts_against_the_rate_from_3_3(int major, int minor, HttpStatusCode expected)
    {
        await using var server = await StartAsync(Clock(), LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Line("fifteen bytes!!", ("trace", "id")));

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Each_tenant_has_its_own_bucket_and_2x_capitalises_the_text()
    {
        await using var server = await StartAsync(Clock(), LokiDialect.V2);
        using var http = new HttpClient();

        await PushAsync(http, server, Line("fifteen bytes!!"), Tenant("a"));
        var (other, _) = await PushAsync(http, server, Line("fifteen bytes!!"), Tenant("b"));
        var (again, body) = await PushAsync(http, server, Line("fifteen bytes!!"), Tenant("a"));

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.TooManyRequests), (other, again));
        Assert.StartsWith("Ingestion rate limit exceeded for user a (limit: 10 bytes/sec)", body, StringComparison.Ordinal);
    }
}
