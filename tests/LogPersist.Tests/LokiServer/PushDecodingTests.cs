using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>Bodies as Loki reads them: protobuf with snappy, JSON, content encodings, and the limits on their size.</summary>
public sealed class PushDecodingTests
{
    [Fact]
    public async Task Protobuf_push_is_stored_with_canonical_labels_and_answered_204()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{level=\"info\", app=\"api\", empty=\"\"}", Entry(Ns(TimeSpan.FromSeconds(-2)), "first", ("trace_id", "abc"))),
            Stream("{app=\"quote\\\"d\\\\\\n\\ttab\"}", Entry(Ns(TimeSpan.FromSeconds(-1)), "second")))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal("", body);
        Assert.Collection(
            server.Entries,
            e =>
            {
                Assert.Equal("fake", e.Tenant);
                Assert.Equal("{app=\"api\", level=\"info\"}", e.Labels);
                Assert.Equal(new Dictionary<string, string> { ["app"] = "api", ["level"] = "info" }, e.LabelMap);
                Assert.Equal(Ns(TimeSpan.FromSeconds(-2)), e.TimestampNs);
                Assert.Equal("first", e.Line);
            },
            e =>
            {
                Assert.Equal("{app=\"quote\\\"d\\\\\\n\\ttab\"}", e.Labels);
                Assert.Equal("quote\"d\\\n\ttab", e.LabelMap["app"]);
            });
        var received = Assert.Single(server.Requests);
        Assert.Equal((204, "application/x-protobuf", 2, 2, 0, 2), (received.Status, received.ContentType, received.Streams, received.Entries, received.Refused, received.Stored));
    }

    [Fact]
    public async Task Loki_2_7_drops_structured_metadata_silently()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line", ("trace_id", "abc"))))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Empty(Assert.Single(server.Entries).StructuredMetadata);
    }

    [Fact]
    public async Task Loki_3_adds_service_name_from_the_first_known_label_or_unknown_service()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(
            Stream("{job=\"batch\", app=\"api\"}", Entry(Ns(TimeSpan.Zero), "app wins over job")),
            Stream("{service_name=\"mine\", app=\"api\"}", Entry(Ns(TimeSpan.Zero), "kept as sent")),
            Stream("{pod=\"p-0\"}", Entry(Ns(TimeSpan.Zero), "no known label", ("trace_id", "abc"))))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(
            ["{app=\"api\", job=\"batch\", service_name=\"api\"}", "{app=\"api\", service_name=\"mine\"}", "{pod=\"p-0\", service_name=\"unknown_service\"}"],
            server.Entries.Select(e => e.Labels));
        Assert.Equal([new("trace_id", "abc")], server.Entries[2].StructuredMetadata);
    }

    [Fact]
    public async Task Service_name_discovery_can_be_turned_off()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), DiscoverServiceName = [] });
        using var http = new HttpClient();

        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"api\"}", Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal("{app=\"api\"}", Assert.Single(server.Entries).Labels);
    }

    [Fact]
    public async Task Json_push_gzipped_with_metadata_is_stored_under_its_tenant()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var json = $$"""{"streams":[{"stream":{"app":"web","level":"a\tb"},"values":[["{{Ns(TimeSpan.Zero)}}","hello",{"trace_id":"t1"}],["{{Ns(TimeSpan.FromSeconds(1))}}","world"]]}]}""";
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        var (status, _) = await PushAsync(http, server, content, Tenant("team-a"));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Collection(
            server.Entries,
            e => Assert.Equal(("team-a", "{app=\"web\", level=\"a\\tb\", service_name=\"web\"}", "hello", "t1"), (e.Tenant, e.Labels, e.Line, e.StructuredMetadata.Single().Value)),
            e => Assert.Equal(("world", Ns(TimeSpan.FromSeconds(1)), 0), (e.Line, e.TimestampNs, e.StructuredMetadata.Count)));
        Assert.Equal(("team-a", "gzip"), (server.Requests[0].Tenant, server.Requests[0].ContentEncoding));
    }

    [Fact]
    public async Task Loki_2_7_refuses_a_json_value_with_structured_metadata()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","hello",{"trace_id":"t1"}]]}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("array must contains 2 values", body, StringComparison.Ordinal);
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Push_without_content_type_is_refused_400()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var content = Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));
        content.Headers.ContentType = null;

        var (status, body) = await PushAsync(http, server, content);

        Assert.Equal((HttpStatusCode.BadRequest, "mime: no media type\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Malformed_json_is_refused_400_and_stores_nothing()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Json("""{"streams":[{"stream":{"app":"x"},"values":[[1767225600000000000,"ts must be a string"]]}]}"""));
        var (overflow, _) = await PushAsync(http, server, Json("""{"streams":[{"stream":{"app":"x"},"values":[["99999999999999999999","too big"]]}]}"""));

        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (status, overflow));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Unknown_content_encoding_is_refused_400()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var content = Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","line"]]}]}""");
        content.Headers.ContentEncoding.Add("br");

        var (status, body) = await PushAsync(http, server, content);

        Assert.Equal((HttpStatusCode.BadRequest, "Content-Encoding \"br\" not supported\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Body_over_the_size_limit_is_refused_413()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxBodyBytes = 100 });
        using var http = new HttpClient();
        var content = Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), Convert.ToBase64String(RandomNumberGenerator.GetBytes(200))))));
        var length = (await content.ReadAsByteArrayAsync()).Length;

        var (status, body) = await PushAsync(http, server, content);
        var (smallStatus, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "small")))));

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, $"request body too large: message size too large than max ({length} vs 100)\n"), (status, body));
        Assert.Equal(HttpStatusCode.NoContent, smallStatus);
        Assert.Equal("small", Assert.Single(server.Entries).Line);
        Assert.Equal(length, server.Requests[0].BodyBytes);
    }

    [Fact]
    public async Task Decompressed_push_over_the_limit_is_answered_500_larger_than_max()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxDecompressedBytes = 1000 });
        using var http = new HttpClient();
        var line = new string('a', 2000);

        var protobuf = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line)))));
        var json = await PushAsync(http, server, Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","{{line}}"]]}]}"""));

        Assert.Equal(HttpStatusCode.InternalServerError, protobuf.Status);
        Assert.Matches(@"^rpc error: code = ResourceExhausted desc = grpc: received message larger than max \(20\d\d vs\. 1000\)\n$", protobuf.Body);
        Assert.Equal(HttpStatusCode.InternalServerError, json.Status);
        Assert.Contains("larger than max", json.Body, StringComparison.Ordinal);
        Assert.Equal(0, server.EntryCount);
    }
}
