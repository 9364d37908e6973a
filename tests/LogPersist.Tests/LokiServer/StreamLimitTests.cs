using System.Net;
using LogPersist.LokiTestServer;
using LogPersist.LokiTestServer.Proto;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// The tenant's stream limit: a stream the tenant does not hold yet, once it holds the limit, is refused 429 with Loki's text
/// while the push's other streams are stored; the answer is the last stream's (STREAM-LIMITS.md).
/// </summary>
public sealed class StreamLimitTests
{
    private static Task<TestServer> StartAsync(int maxStreams, LokiDialect? dialect = null) =>
        TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), Dialect = dialect ?? LokiDialect.V3, MaxStreamsPerTenant = maxStreams });

    private static StreamAdapter Line(string app, string line) => Stream($"{{app=\"{app}\"}}", Entry(Ns(TimeSpan.Zero), line));

    [Fact]
    public async Task New_stream_beyond_the_limit_is_refused_429_while_the_held_stream_of_the_push_is_stored()
    {
        await using var server = await StartAsync(maxStreams: 1);
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Line("a", "first"))));

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Line("a", "held"), Stream("{app=\"b\"}", Entry(Ns(TimeSpan.Zero), "new 1"), Entry(Ns(TimeSpan.Zero), "new 2")))));

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal(
            "maximum active stream limit exceeded when trying to create stream {app=\"b\", service_name=\"b\"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'\n",
            body);
        Assert.Equal(["first", "held"], server.Entries.Select(e => e.Line));
        Assert.Equal((2, 1), (server.Requests[1].Refused, server.Requests[1].Stored));
    }

    [Fact]
    public async Task Refused_stream_followed_by_a_stored_one_answers_204_as_only_the_last_stream_is_answered()
    {
        await using var server = await StartAsync(maxStreams: 1);
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Line("a", "first"))));

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Line("b", "refused"), Line("a", "held"))));

        Assert.Equal((HttpStatusCode.NoContent, ""), (status, body));
        Assert.Equal(["first", "held"], server.Entries.Select(e => e.Line));
        Assert.Equal((1, 1), (server.Requests[1].Refused, server.Requests[1].Stored));
    }

    [Fact]
    public async Task Streams_created_earlier_in_the_same_push_count_and_later_pushes_of_held_streams_pass()
    {
        await using var server = await StartAsync(maxStreams: 2);
        using var http = new HttpClient();

        var (first, _) = await PushAsync(http, server, Protobuf(Request(Line("a", "a1"), Line("b", "b1"), Line("c", "c1"))));
        var (second, _) = await PushAsync(http, server, Protobuf(Request(Line("b", "b2"), Line("a", "a2"))));

        Assert.Equal((HttpStatusCode.TooManyRequests, HttpStatusCode.NoContent), (first, second));
        Assert.Equal(["a1", "b1", "b2", "a2"], server.Entries.Select(e => e.Line));
        Assert.Equal([1, 0], server.Requests.Select(r => r.Refused));
    }

    [Fact]
    public async Task Each_tenant_has_its_own_count()
    {
        await using var server = await StartAsync(maxStreams: 1);
        using var http = new HttpClient();

        await PushAsync(http, server, Protobuf(Request(Line("a", "tenant one"))), Tenant("one"));
        var (other, _) = await PushAsync(http, server, Protobuf(Request(Line("b", "tenant two"))), Tenant("two"));
        var (again, body) = await PushAsync(http, server, Protobuf(Request(Line("b", "tenant one again"))), Tenant("one"));

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.TooManyRequests), (other, again));
        Assert.EndsWith("user: 'one'\n", body, StringComparison.Ordinal);
        Assert.Equal(["tenant one", "tenant two"], server.Entries.Select(e => e.Line));
    }

    [Theory]
    [InlineData(2, 7, "Maximum active stream limit exceeded, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased")]
    [InlineData(2, 9, "Maximum active stream limit exceeded, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'")]
    [InlineData(3, 0, "Maximum active stream limit exceeded, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'")]
    [InlineData(3, 1, "Maximum active stream limit exceeded when trying to create stream {app=\"b\", service_name=\"b\"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'")]
    [InlineData(3, 7, "maximum active stream limit exceeded when trying to create stream {app=\"b\", service_name=\"b\"}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: 'fake'")]
    public async Task The_text_is_the_releases(int major, int minor, string expected)
    {
        await using var server = await StartAsync(maxStreams: 1, LokiDialect.Of(major, minor));
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Line("a", "first"))));

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Line("b", "refused"))));

        Assert.Equal((HttpStatusCode.TooManyRequests, expected + "\n"), (status, body));
    }

    // Before 3.2 a stream whose entries the distributor all refused still reaches the ingester and is created; from 3.2 it goes no further.
    [Theory]
    [InlineData(2, 9, HttpStatusCode.TooManyRequests)]
    [InlineData(3, 2, HttpStatusCode.NoContent)]
    public async Task A_stream_whose_entries_were_all_refused_is_held_before_3_2(int major, int minor, HttpStatusCode expected)
    {
        await using var server = await StartAsync(maxStreams: 1, LokiDialect.Of(major, minor));
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"a\"}", Entry(Ns(TimeSpan.FromDays(-8)), "too old")))));

        var (status, _) = await PushAsync(http, server, Protobuf(Request(Line("b", "second stream"))));

        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task Without_the_option_a_tenant_may_hold_more_streams_than_Lokis_default()
    {
        await using var server = await ServerTesting.StartAsync();
        using var http = new HttpClient();
        var streams = Enumerable.Range(0, 5001).Select(i => Line($"s{i}", "x")).ToArray();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(streams)));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(5001, server.EntryCount);
    }
}
