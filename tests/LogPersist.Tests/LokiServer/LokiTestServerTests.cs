using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using static LogPersist.Tests.LokiServer.Pushes;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

public sealed class LokiTestServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static LokiTestServerOptions Options(Func<LokiTestServerOptions, LokiTestServerOptions>? change = null)
    {
        var time = new ManualTime();
        time.Advance(Now - time.GetUtcNow());
        var options = new LokiTestServerOptions { TimeProvider = time };
        return change is null ? options : change(options);
    }

    private static async Task<(HttpStatusCode Status, string Body)> PushAsync(HttpClient http, TestServer server, HttpContent content, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, server.PushUri) { Content = content };
        configure?.Invoke(request);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Protobuf_push_is_stored_with_canonical_labels_and_answered_204()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{level=\"info\", app=\"api\", empty=\"\"}", Entry(Ns(TimeSpan.FromSeconds(-2)), "first", ("trace_id", "abc"))),
            Stream("{app=\"quote\\\"d\\\\\\n\"}", Entry(Ns(TimeSpan.FromSeconds(-1)), "second")))));

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
                Assert.Equal([new("trace_id", "abc")], e.StructuredMetadata);
            },
            e =>
            {
                Assert.Equal("{app=\"quote\\\"d\\\\\\n\"}", e.Labels);
                Assert.Equal("quote\"d\\\n", e.LabelMap["app"]);
            });
        var received = Assert.Single(server.Requests);
        Assert.Equal((204, "application/x-protobuf", 2, 2, 0), (received.Status, received.ContentType, received.Streams, received.Entries, received.Refused));
    }

    [Fact]
    public async Task Json_push_gzipped_with_metadata_is_stored_under_its_tenant()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var json = $$"""{"streams":[{"stream":{"app":"web"},"values":[["{{Ns(TimeSpan.Zero)}}","hello",{"trace_id":"t1"}],["{{Ns(TimeSpan.FromSeconds(1))}}","world"]]}]}""";
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        var (status, _) = await PushAsync(http, server, content, r => r.Headers.Add("X-Scope-OrgID", "team-a"));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Collection(
            server.Entries,
            e => Assert.Equal(("team-a", "{app=\"web\"}", "hello", "t1"), (e.Tenant, e.Labels, e.Line, e.StructuredMetadata.Single().Value)),
            e => Assert.Equal(("world", Ns(TimeSpan.FromSeconds(1)), 0), (e.Line, e.TimestampNs, e.StructuredMetadata.Count)));
        Assert.Equal(("team-a", "gzip"), (server.Requests[0].Tenant, server.Requests[0].ContentEncoding));
    }

    [Fact]
    public async Task Push_without_content_type_is_refused_400()
    {
        await using var server = await TestServer.StartAsync(Options());
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
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Json("""{"streams":[{"stream":{"app":"x"},"values":[[1767225600000000000,"ts must be a string"]]}]}"""));
        var (overflow, _) = await PushAsync(http, server, Json("""{"streams":[{"stream":{"app":"x"},"values":[["99999999999999999999","too big"]]}]}"""));

        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (status, overflow));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Unknown_content_encoding_is_refused_400()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var content = Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","line"]]}]}""");
        content.Headers.ContentEncoding.Add("br");

        var (status, body) = await PushAsync(http, server, content);

        Assert.Equal((HttpStatusCode.BadRequest, "Content-Encoding \"br\" not supported\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Theory]
    [InlineData("{bad-label=\"x\"}", "couldn't parse labels: 1:5: parse error: unexpected \"-\", expected \"=\"")]
    [InlineData("{}", "error at least one label pair is required per stream")]
    [InlineData("{app=\"\"}", "error at least one label pair is required per stream")]
    [InlineData("app=\"x\"", "couldn't parse labels: 1:1: parse error: unexpected \"a\", expected \"{\"")]
    [InlineData("{app='x'}", "couldn't parse labels: 1:6: parse error: unexpected \"'\", expected quoted label value")]
    [InlineData("{app=\"x\\t\"}", "couldn't parse labels: 1:8: parse error: unknown escape sequence")]
    [InlineData("{app=\"x}", "couldn't parse labels: 1:9: parse error: unterminated quoted string")]
    [InlineData("{1app=\"x\"}", "couldn't parse labels: 1:2: parse error: unexpected \"1\", expected label name")]
    [InlineData("{app=\"x\", app=\"y\"}", "stream '{app=\"x\", app=\"y\"}' has duplicate label name: 'app'")]
    public async Task Bad_label_set_refuses_the_whole_request_400(string labels, string expected)
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"fine\"}", Entry(Ns(TimeSpan.Zero), "kept only if the request is")),
            Stream(labels, Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal((HttpStatusCode.BadRequest, expected + "\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Json_label_name_that_is_not_a_prometheus_name_is_refused_400()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Json($$"""{"streams":[{"stream":{"service.name":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","line"]]}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("couldn't parse labels: ", body, StringComparison.Ordinal);
        Assert.Equal(0, server.EntryCount);
    }

    [Theory]
    [InlineData("""{"streams":[]}""")]
    [InlineData("""{"streams":[{"stream":{"app":"x"},"values":[]}]}""")]
    public async Task Empty_push_is_refused_422(string json)
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        var (jsonStatus, jsonBody) = await PushAsync(http, server, Json(json));
        var (protobufStatus, _) = await PushAsync(http, server, Protobuf(Request()));

        Assert.Equal((HttpStatusCode.UnprocessableEntity, "error at least one valid stream is required for ingestion\n"), (jsonStatus, jsonBody));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, protobufStatus);
    }

    [Fact]
    public async Task Refused_entries_are_listed_one_per_line_and_the_valid_ones_are_stored()
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, MaxLineBytes = 10 }));
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}",
                Entry(Ns(TimeSpan.FromSeconds(-1)), "kept"),
                Entry(Ns(TimeSpan.FromDays(-8)), "too old"),
                Entry(Ns(TimeSpan.FromMinutes(11)), "too new"),
                Entry(Ns(TimeSpan.FromSeconds(-2)), "eleven byte")),
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.FromMinutes(9)), "in grace")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            """
            entry with timestamp 2025-12-24 00:00:00 +0000 UTC ignored, reason: 'entry for stream '{app="x"}' has timestamp too old: 2025-12-24T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z' for stream: {app="x"},
            entry with timestamp 2026-01-01 00:11:00 +0000 UTC ignored, reason: 'entry for stream '{app="x"}' has timestamp too new: 2026-01-01T00:11:00Z' for stream: {app="x"},
            entry with timestamp 2025-12-31 23:59:58 +0000 UTC ignored, reason: 'Max entry size '10' bytes exceeded for stream '{app="x"}' while adding an entry with length '11' bytes' for stream: {app="x"},
            total ignored: 3 out of 5

            """,
            body);
        Assert.Equal(["kept", "in grace"], server.Entries.Select(e => e.Line));
        Assert.Equal(3, server.Requests.Single().Refused);
    }

    [Fact]
    public async Task Line_length_is_counted_in_utf8_bytes()
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, MaxLineBytes = 4 }));
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.Zero), "ééé"),
            Entry(Ns(TimeSpan.Zero), "éé")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("while adding an entry with length '6' bytes", body, StringComparison.Ordinal);
        Assert.Equal("éé", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Duplicate_entry_is_stored_once()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.FromSeconds(-1));

        var first = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "same"), Entry(ns, "same"), Entry(ns, "other line")))));
        var resend = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(ns, "same")),
            Stream("{app=\"y\"}", Entry(ns, "same")))));
        var otherTenant = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "same")))), r => r.Headers.Add("X-Scope-OrgID", "b"));

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NoContent, HttpStatusCode.NoContent], new[] { first.Status, resend.Status, otherTenant.Status });
        Assert.Equal(2, server.DuplicatesDropped);
        Assert.Equal(
            ["fake {app=\"x\"} same", "fake {app=\"x\"} other line", "fake {app=\"y\"} same", "b {app=\"x\"} same"],
            server.Entries.Select(e => $"{e.Tenant} {e.Labels} {e.Line}"));
    }

    [Fact]
    public async Task Entry_too_far_behind_the_newest_of_its_stream_is_refused()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var newest = TimeSpan.FromMinutes(-1);

        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(newest), "newest")))));
        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(newest - TimeSpan.FromMinutes(61)), "too far behind"), Entry(Ns(newest - TimeSpan.FromMinutes(59)), "within the window")),
            Stream("{app=\"y\"}", Entry(Ns(newest - TimeSpan.FromMinutes(61)), "another stream")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            """
            entry with timestamp 2025-12-31 22:58:00 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2025-12-31T22:58:00Z, oldest acceptable timestamp is: 2025-12-31T22:59:00Z' for stream: {app="x"},
            total ignored: 1 out of 3

            """,
            body);
        Assert.Equal(["newest", "within the window", "another stream"], server.Entries.Select(e => e.Line));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Structured_metadata_is_refused_when_disallowed_and_entries_without_it_are_stored(bool json)
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, AllowStructuredMetadata = false }));
        using var http = new HttpClient();
        HttpContent content = json
            ? Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","with",{"trace_id":"t"}],["{{Ns(TimeSpan.Zero)}}","without"]]}]}""")
            : Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "with", ("trace_id", "t")), Entry(Ns(TimeSpan.Zero), "without"))));

        var (status, body) = await PushAsync(http, server, content);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(
            "entry with timestamp 2026-01-01 00:00:00 +0000 UTC ignored, reason: 'stream '{app=\"x\"}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.' for stream: {app=\"x\"},\n",
            body,
            StringComparison.Ordinal);
        Assert.EndsWith("total ignored: 1 out of 2\n", body, StringComparison.Ordinal);
        Assert.Equal("without", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Body_over_the_size_limit_is_refused_413()
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, MaxBodyBytes = 100 }));
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
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, MaxDecompressedBytes = 1000 }));
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

    [Fact]
    public async Task Missing_tenant_is_refused_401_when_a_tenant_is_required()
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, RequireTenant = true }));
        using var http = new HttpClient();
        HttpContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

        var (anonymous, body) = await PushAsync(http, server, Body());
        var (withTenant, _) = await PushAsync(http, server, Body(), r => r.Headers.Add("X-Scope-OrgID", "acme"));

        Assert.Equal((HttpStatusCode.Unauthorized, "no org id\n"), (anonymous, body));
        Assert.Equal(HttpStatusCode.NoContent, withTenant);
        Assert.Equal("acme", Assert.Single(server.Entries).Tenant);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_401()
    {
        await using var server = await TestServer.StartAsync(Options(o => new LokiTestServerOptions { TimeProvider = o.TimeProvider, RequiredAuthorization = "Bearer s3cret" }));
        using var http = new HttpClient();
        HttpContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

        var (none, _) = await PushAsync(http, server, Body());
        var (wrong, _) = await PushAsync(http, server, Body(), r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess"));
        var (right, _) = await PushAsync(http, server, Body(), r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret"));

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.NoContent], new[] { none, wrong, right });
        Assert.Equal(1, server.EntryCount);
        Assert.Equal("Bearer s3cret", server.Requests[2].Authorization);
    }

    [Fact]
    public async Task Scripted_429_carries_retry_after_and_stores_nothing()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var date = new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero);
        server.Enqueue(
            ScriptedResponse.Status(429, "slow down", retryAfter: TimeSpan.FromSeconds(6.2)),
            ScriptedResponse.Status(503, retryAfterDate: date));
        HttpContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

        using var first = await http.PostAsync(server.PushUri, Body());
        using var second = await http.PostAsync(server.PushUri, Body());
        using var third = await http.PostAsync(server.PushUri, Body());

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), first.Headers.RetryAfter?.Delta);
        Assert.Equal("slow down", await first.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal(date, second.Headers.RetryAfter?.Date);
        Assert.Equal(HttpStatusCode.NoContent, third.StatusCode);
        Assert.Equal(1, server.EntryCount);
        Assert.Equal([429, 503, 204], server.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Stall_holds_the_request_until_released_then_processes_it()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var release = new TaskCompletionSource();
        server.Enqueue(ScriptedResponse.Stall(release.Task));
        var content = new SignallingContent(Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "held")))));

        var push = http.PostAsync(server.PushUri, content);
        await content.Sent.WaitAsync(Patience);

        Assert.False(await server.WaitForEntriesAsync(1, TimeSpan.FromMilliseconds(300)));
        Assert.False(push.IsCompleted);
        release.SetResult();
        using var response = await push.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("held", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Reset_drops_the_connection_without_an_answer()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.Reset());
        HttpContent Body(string line) => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line))));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(server.PushUri, Body("lost")));
        using var next = await http.PostAsync(server.PushUri, Body("kept"));

        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Equal(HttpStatusCode.NoContent, next.StatusCode);
        Assert.Equal("kept", Assert.Single(server.Entries).Line);
        Assert.Equal([0, 204], server.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Stop_refuses_connections_and_restart_on_the_same_port_keeps_entries()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        HttpContent Body(string line) => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line))));
        var address = server.BaseAddress;
        using var before = await http.PostAsync(server.PushUri, Body("before"));

        await server.StopAsync();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(server.PushUri, Body("while down")));
        await server.RestartAsync();
        using var after = await http.PostAsync(server.PushUri, Body("after"));

        Assert.Equal(HttpRequestError.ConnectionError, refused.HttpRequestError);
        Assert.Equal(address, server.BaseAddress);
        Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
        Assert.Equal(["before", "after"], server.Entries.Select(e => e.Line));
    }

    [Fact]
    public async Task Stop_drops_a_stalled_request()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.Stall(new TaskCompletionSource().Task));
        var content = new SignallingContent(Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "held")))));
        var push = http.PostAsync(server.PushUri, content);
        await content.Sent.WaitAsync(Patience);

        await server.StopAsync().WaitAsync(Patience);

        await Assert.ThrowsAsync<HttpRequestException>(() => push);
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task WaitForEntries_is_signalled_by_a_push_and_times_out_without_one()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();

        Assert.False(await server.WaitForEntriesAsync(1, TimeSpan.FromMilliseconds(50)));
        var waiting = server.WaitForEntriesAsync(2, Patience);
        Assert.False(waiting.IsCompleted);
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "a"), Entry(Ns(TimeSpan.Zero), "b")))));

        Assert.True(await waiting);
    }

    [Fact]
    public async Task Query_range_selects_by_matchers_time_range_limit_and_direction()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"a\", level=\"warn\"}", Entry(Ns(TimeSpan.FromSeconds(-4)), "w1"), Entry(Ns(TimeSpan.FromSeconds(-2)), "w2")),
            Stream("{app=\"a\", level=\"error\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "e1"), Entry(Ns(TimeSpan.FromSeconds(-1)), "e2", ("trace_id", "t"))),
            Stream("{app=\"a\", level=\"info\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "i1")),
            Stream("{app=\"b\", level=\"warn\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "other app")))));

        var forward = await QueryAsync(http, server, "{app=\"a\", level=~\"warn|error\"}", Ns(TimeSpan.FromSeconds(-4)), Ns(TimeSpan.FromSeconds(-1)), 10, "forward");
        var backward = await QueryAsync(http, server, "{app=\"a\",level!=\"info\"}", Ns(TimeSpan.FromSeconds(-10)), Ns(TimeSpan.Zero), 2, "backward");

        Assert.Equal(["{app=a, level=warn}: w1 w2", "{app=a, level=error}: e1"], forward);
        Assert.Equal(["{app=a, level=error, trace_id=t}: e2", "{app=a, level=warn}: w2"], backward);
    }

    [Fact]
    public async Task Query_range_answers_loki_json_shape_and_refuses_a_bad_selector()
    {
        await using var server = await TestServer.StartAsync(Options());
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.Zero);
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"a\"}", Entry(ns, "line")))));

        var json = await http.GetStringAsync(new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString("{app=\"a\"}")}&start={ns}&end={ns + 1}&limit=5&direction=forward"));
        using var bad = await http.GetAsync(new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString("{app=\"a\"")}"));
        var ready = await http.GetStringAsync(new Uri(server.BaseAddress, "ready"));

        Assert.Equal($$$"""{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"a"},"values":[["{{{ns}}}","line"]]}]}}""", json);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("ready\n", ready);
    }

    private static async Task<List<string>> QueryAsync(HttpClient http, TestServer server, string query, long start, long end, int limit, string direction)
    {
        var uri = new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString(query)}&start={start}&end={end}&limit={limit}&direction={direction}");
        using var document = JsonDocument.Parse(await http.GetStringAsync(uri));
        Assert.Equal("success", document.RootElement.GetProperty("status").GetString());
        return document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(result =>
                "{" + string.Join(", ", result.GetProperty("stream").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}")) + "}: "
                + string.Join(' ', result.GetProperty("values").EnumerateArray().Select(v => v[1].GetString())))
            .ToList();
    }

    /// <summary>Content that reports when its bytes have been handed to the connection.</summary>
    private sealed class SignallingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SignallingContent(HttpContent inner)
        {
            _inner = inner;
            foreach (var (name, values) in inner.Headers)
            {
                Headers.TryAddWithoutValidation(name, values);
            }
        }

        public Task Sent => _sent.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await _inner.CopyToAsync(stream);
            await stream.FlushAsync();
            _sent.TrySetResult();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
