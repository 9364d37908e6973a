using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;

namespace LogPersist.Tests.LokiServer;

/// <summary>From 3.4 a push with no stream at all is answered 422; streams without entries are answered 204 in every release.</summary>
public sealed class EmptyPushTests
{
    [Theory]
    [InlineData("""{"streams":[]}""")]
    [InlineData("""{}""")]
    public async Task Push_without_streams_is_refused_422_from_3_4(string json)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (jsonStatus, jsonBody) = await PushAsync(http, server, Json(json));
        var (protobufStatus, protobufBody) = await PushAsync(http, server, Protobuf(Request()));

        Assert.Equal((HttpStatusCode.UnprocessableEntity, "error at least one valid stream is required for ingestion\n"), (jsonStatus, jsonBody));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "error at least one valid stream is required for ingestion\n"), (protobufStatus, protobufBody));
    }

    [Fact]
    public async Task Streams_without_entries_are_answered_204()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (jsonStatus, _) = await PushAsync(http, server, Json("""{"streams":[{"stream":{"app":"x"},"values":[]}]}"""));
        var (protobufStatus, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}"), Stream("{app=\"y\"}"))));

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (jsonStatus, protobufStatus));
        Assert.Equal(0, server.EntryCount);
    }

    [Theory]
    [InlineData(2, 7)]
    [InlineData(2, 9)]
    [InlineData(3, 3)]
    public async Task Before_3_4_a_push_without_streams_is_answered_204(int major, int minor)
    {
        await using var server = await StartAsync(LokiDialect.Of(major, minor));
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request()));

        Assert.Equal((HttpStatusCode.NoContent, ""), (status, body));
    }
}
