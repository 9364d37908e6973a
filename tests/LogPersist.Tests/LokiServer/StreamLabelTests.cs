using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>Label sets that parse but fail the distributor's checks: every entry of that stream is refused, the other streams go on.</summary>
public sealed class StreamLabelTests
{
    private static string Labels(int count, string prefix = "l") =>
        "{" + string.Join(", ", Enumerable.Range(0, count).Select(i => $"{prefix}{i:D2}=\"v\"")) + "}";

    [Fact]
    public async Task More_than_15_label_names_refuse_the_stream_and_service_name_is_not_counted()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream(Labels(16), Entry(Ns(TimeSpan.Zero), "refused 1"), Entry(Ns(TimeSpan.FromSeconds(1)), "refused 2")),
            Stream(Labels(15), Entry(Ns(TimeSpan.Zero), "15 names and service_name")),
            Stream(Labels(15)[..^1] + ", service_name=\"svc\"}", Entry(Ns(TimeSpan.Zero), "15 names with service_name sent")))));

        var sixteen = Labels(16)[..^1] + ", service_name=\"unknown_service\"}";
        Assert.Equal((HttpStatusCode.BadRequest, $"entry for stream '{sixteen}' has 16 label names; limit 15\n"), (status, body));
        Assert.Equal(["15 names and service_name", "15 names with service_name sent"], server.Entries.Select(e => e.Line));
        Assert.Equal((2, 2), (server.Requests[0].Refused, server.Requests[0].Stored));
    }

    [Fact]
    public async Task Loki_2_allows_30_label_names_and_prints_the_stream_as_sent()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();
        var thirtyOne = "{" + string.Join(",", Enumerable.Range(0, 31).Reverse().Select(i => $"l{i:D2}=\"v\"")) + "}";

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream(Labels(30), Entry(Ns(TimeSpan.Zero), "30 names")),
            Stream(thirtyOne, Entry(Ns(TimeSpan.Zero), "31 names")))));

        Assert.Equal((HttpStatusCode.BadRequest, $"entry for stream '{thirtyOne}' has 31 label names; limit 30\n"), (status, body));
        Assert.Equal("30 names", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task The_label_name_limit_can_be_set()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxLabelNamesPerSeries = 2 });
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{a=\"1\", b=\"2\", c=\"3\"}", Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal((HttpStatusCode.BadRequest, "entry for stream '{a=\"1\", b=\"2\", c=\"3\", service_name=\"unknown_service\"}' has 3 label names; limit 2\n"), (status, body));
    }

    [Fact]
    public async Task Name_or_value_too_long_and_duplicate_names_refuse_their_streams_in_one_grouped_answer()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxLabelNameLength = 12, MaxLabelValueLength = 15 });
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{toolong_name_x=\"x\"}", Entry(Ns(TimeSpan.Zero), "name")),
            Stream("{app=\"éééééééé\"}", Entry(Ns(TimeSpan.Zero), "value in bytes")),
            Stream("{app=\"y\", app=\"x\"}", Entry(Ns(TimeSpan.Zero), "twice")),
            Stream("{app=\"ok\"}", Entry(Ns(TimeSpan.Zero), "stored")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            "1 errors like: stream '{service_name=\"unknown_service\", toolong_name_x=\"x\"}' has label name too long: 'toolong_name_x'; "
            + "1 errors like: stream '{app=\"éééééééé\", service_name=\"éééééééé\"}' has label value too long: 'éééééééé'; "
            + "1 errors like: stream '{app=\"y\", app=\"x\", service_name=\"y\"}' has duplicate label name: 'app'\n",
            body);
        Assert.Equal("stored", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Empty_label_set_gets_unknown_service_from_3_2()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(
            Stream("{}", Entry(Ns(TimeSpan.Zero), "braces")),
            Stream("{app=\"\"}", Entry(Ns(TimeSpan.FromSeconds(1)), "empty value")))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.All(server.Entries, e => Assert.Equal("{service_name=\"unknown_service\"}", e.Labels));
        Assert.Equal(2, server.EntryCount);
    }

    [Theory]
    [InlineData(2, 7)]
    [InlineData(3, 0)]
    public async Task Empty_label_set_refuses_the_stream_before_3_2(int major, int minor)
    {
        await using var server = await StartAsync(LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{}", Entry(Ns(TimeSpan.Zero), "refused")),
            Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "stored")))));

        Assert.Equal((HttpStatusCode.BadRequest, "error at least one label pair is required per stream\n"), (status, body));
        Assert.Equal("stored", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Empty_label_set_refuses_the_stream_when_service_name_discovery_is_off()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), Dialect = LokiDialect.V3_7, DiscoverServiceName = [] });
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{}", Entry(Ns(TimeSpan.Zero), "refused")))));

        Assert.Equal((HttpStatusCode.BadRequest, "error at least one label pair is required per stream\n"), (status, body));
    }
}
