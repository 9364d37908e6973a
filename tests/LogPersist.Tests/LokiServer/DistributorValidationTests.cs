using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// Per-entry checks in the distributor: the valid entries are stored, the refused ones answered in one 400 — grouped
/// from 2.9 on, the last error alone in 2.7.
/// </summary>
public sealed class DistributorValidationTests
{
    private const string Stream3 = "{app=\"x\", service_name=\"x\"}";

    private static ByteArrayContent Mixed() => Protobuf(Request(
        Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.FromSeconds(-1)), "kept"),
            Entry(Ns(TimeSpan.FromDays(-8)), "too old"),
            Entry(Ns(TimeSpan.FromMinutes(11)), "too new"),
            Entry(Ns(TimeSpan.FromSeconds(-2)), "eleven byte"),
            Entry(Ns(TimeSpan.FromSeconds(-3)), "eleven char")),
        Stream("{app=\"y\"}", Entry(Ns(TimeSpan.FromMinutes(9)), "in grace"))));

    private static Task<TestServer> StartAsync(LokiDialect dialect) =>
        TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), Dialect = dialect, MaxLineBytes = 10 });

    [Fact]
    public async Task Loki_3_groups_the_refusals_in_one_line_and_stores_the_valid_entries()
    {
        await using var server = await StartAsync(LokiDialect.V3);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Mixed());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            $"1 errors like: entry for stream '{Stream3}' has timestamp too old: 2025-12-24T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z; "
            + $"1 errors like: entry for stream '{Stream3}' has timestamp too new: 2026-01-01T00:11:00Z; "
            + $"2 errors like: max entry size '10' bytes exceeded for stream '{Stream3}' while adding an entry with length '11' bytes\n",
            body);
        Assert.Equal(["kept", "in grace"], server.Entries.Select(e => e.Line));
        Assert.Equal((6, 4, 2), (server.Requests[0].Entries, server.Requests[0].Refused, server.Requests[0].Stored));
    }

    [Fact]
    public async Task One_error_alone_is_answered_without_a_count_and_one_message_twice_with_one()
    {
        await using var server = await StartAsync(LokiDialect.V3);
        using var http = new HttpClient();

        var (_, alone) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "eleven byte")))));
        var (_, twice) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "eleven byte"), Entry(Ns(TimeSpan.Zero), "eleven char")))));

        Assert.Equal($"max entry size '10' bytes exceeded for stream '{Stream3}' while adding an entry with length '11' bytes\n", alone);
        Assert.Equal($"2 errors like: max entry size '10' bytes exceeded for stream '{Stream3}' while adding an entry with length '11' bytes\n", twice);
    }

    [Fact]
    public async Task Loki_3_before_3_6_capitalises_max_entry_size()
    {
        await using var server = await StartAsync(LokiDialect.Of(3, 5));
        using var http = new HttpClient();

        var (_, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "eleven byte")))));

        Assert.Equal($"Max entry size '10' bytes exceeded for stream '{Stream3}' while adding an entry with length '11' bytes\n", body);
    }

    [Fact]
    public async Task Loki_2_7_answers_only_the_last_error_without_service_name()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Mixed());

        Assert.Equal((HttpStatusCode.BadRequest, "Max entry size '10' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length '11' bytes\n"), (status, body));
        Assert.Equal(["kept", "in grace"], server.Entries.Select(e => e.Line));
        Assert.Equal(4, server.Requests[0].Refused);
    }

    [Fact]
    public async Task Loki_2_9_groups_with_its_own_texts()
    {
        await using var server = await StartAsync(LokiDialect.V2_9);
        using var http = new HttpClient();

        var (_, body) = await PushAsync(http, server, Mixed());

        Assert.Equal(
            "1 errors like: entry for stream '{app=\"x\"}' has timestamp too old: 2025-12-24T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z; "
            + "1 errors like: entry for stream '{app=\"x\"}' has timestamp too new: 2026-01-01T00:11:00Z; "
            + "2 errors like: Max entry size '10' bytes exceeded for stream '{app=\"x\"}' while adding an entry with length '11' bytes\n",
            body);
    }

    [Fact]
    public async Task Line_length_is_counted_in_utf8_bytes()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxLineBytes = 4 });
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.Zero), "ééé"),
            Entry(Ns(TimeSpan.Zero), "éé")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("while adding an entry with length '6' bytes", body, StringComparison.Ordinal);
        Assert.Equal("éé", Assert.Single(server.Entries).Line);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Structured_metadata_is_refused_when_disallowed_and_entries_without_it_are_stored(bool json)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), AllowStructuredMetadata = false });
        using var http = new HttpClient();
        HttpContent content = json
            ? Json($$"""{"streams":[{"stream":{"app":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","with",{"trace_id":"t"}],["{{Ns(TimeSpan.Zero)}}","without"]]}]}""")
            : Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "with", ("trace_id", "t")), Entry(Ns(TimeSpan.Zero), "without"))));

        var (status, body) = await PushAsync(http, server, content);

        Assert.Equal(
            (HttpStatusCode.BadRequest, $"stream '{Stream3}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it\n"),
            (status, body));
        Assert.Equal("without", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Loki_2_9_words_disallowed_metadata_its_way()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), Dialect = LokiDialect.V2_9, AllowStructuredMetadata = false });
        using var http = new HttpClient();

        var (_, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "with", ("trace_id", "t"))))));

        Assert.Equal("stream '{app=\"x\"}' includes structured metadata, but this feature is disallowed. Please see `limits_config.structured_metadata` or contact your Loki administrator to enable it.\n", body);
    }

    [Fact]
    public async Task Structured_metadata_too_large_or_too_many_is_refused()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), MaxStructuredMetadataBytes = 10, MaxStructuredMetadataEntries = 1 });
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}",
            Entry(Ns(TimeSpan.Zero), "too large", ("trace_id", "abcdef")),
            Entry(Ns(TimeSpan.Zero), "too many", ("a", "1"), ("b", "2")),
            Entry(Ns(TimeSpan.Zero), "fits", ("id", "12345678"))))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            $"1 errors like: stream '{Stream3}' has structured metadata too large: '14' bytes, limit: '10' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it; "
            + $"1 errors like: stream '{Stream3}' has too many structured metadata labels: '2', limit: '1'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it\n",
            body);
        Assert.Equal("fits", Assert.Single(server.Entries).Line);
    }
}
