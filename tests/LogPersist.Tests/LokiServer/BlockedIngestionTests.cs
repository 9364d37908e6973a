using System.Net;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>From 3.2, while a tenant's ingestion is blocked every push is answered 260 (a 2xx that stores nothing) with the time it ends.</summary>
public sealed class BlockedIngestionTests
{
    private static readonly DateTimeOffset Until = Now + TimeSpan.FromHours(1);

    private static ByteArrayContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

    private static Task<TestServer> StartAsync(ManualTime time, LokiDialect dialect, int status = 260) =>
        TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = time, Dialect = dialect, BlockIngestionUntil = Until, BlockIngestionStatusCode = status });

    [Fact]
    public async Task Blocked_push_is_answered_260_with_the_time_and_nothing_is_stored_until_then()
    {
        var time = Clock();
        await using var server = await StartAsync(time, LokiDialect.V3);
        using var http = new HttpClient();

        using var blocked = await http.PostAsync(server.PushUri, Body());
        var body = await blocked.Content.ReadAsStringAsync();
        time.Advance(TimeSpan.FromHours(1));
        using var after = await http.PostAsync(server.PushUri, Body());

        Assert.Equal(260, (int)blocked.StatusCode);
        Assert.True(blocked.IsSuccessStatusCode, "260 is a 2xx to HttpClient: only 204 means stored");
        Assert.Equal("ingestion blocked for user fake until '2026-01-01T01:00:00Z' with status code '260'\n", body);
        Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
        Assert.Equal(1, server.EntryCount);
        Assert.Equal((1, 0), (server.Requests[0].Refused, server.Requests[0].Stored));
    }

    [Fact]
    public async Task Loki_3_7_quotes_the_user()
    {
        await using var server = await StartAsync(Clock(), LokiDialect.V3_7);
        using var http = new HttpClient();

        var (_, body) = await PushAsync(http, server, Body(), Tenant("acme"));

        Assert.Equal("ingestion blocked for user 'acme' until '2026-01-01T01:00:00Z' with status code '260'\n", body);
    }

    [Theory]
    [InlineData(2, 7)]
    [InlineData(3, 1)]
    public async Task Releases_before_3_2_do_not_block(int major, int minor)
    {
        await using var server = await StartAsync(Clock(), LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Body());

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(1, server.EntryCount);
    }

    [Fact]
    public async Task Status_200_blocks_silently_with_204()
    {
        await using var server = await StartAsync(Clock(), LokiDialect.V3, status: 200);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Body());

        Assert.Equal((HttpStatusCode.NoContent, ""), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Theory]
    [InlineData(3, 5, 400)]
    [InlineData(3, 4, 260)]
    public async Task From_3_5_validation_errors_take_precedence_and_before_the_block_does(int major, int minor, int expected)
    {
        await using var server = await StartAsync(Clock(), LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(TimeSpan.FromDays(-8)), "too old"), Entry(Ns(TimeSpan.Zero), "valid")),
            Stream("{app=\"a\", app=\"b\"}", Entry(Ns(TimeSpan.Zero), "duplicate label name")))));

        Assert.Equal(expected, (int)status);
        Assert.Equal(0, server.EntryCount);
    }
}
