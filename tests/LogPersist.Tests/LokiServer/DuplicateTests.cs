using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// Loki drops an exact duplicate only when it equals its stream's last entry or one still in the head block, and checks
/// the out-of-order window first; from 3.7 structured metadata is part of "exact".
/// </summary>
public sealed class DuplicateTests
{
    [Fact]
    public async Task Duplicate_of_the_last_entry_or_of_one_in_the_head_block_is_stored_once()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.FromSeconds(-1));

        var first = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "same"), Entry(ns, "same"), Entry(ns, "other line")))));
        var resend = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(ns, "same")),
            Stream("{app=\"y\"}", Entry(ns, "same")))));
        var otherTenant = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "same")))), Tenant("b"));

        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NoContent, HttpStatusCode.NoContent], new[] { first.Status, resend.Status, otherTenant.Status });
        Assert.Equal(2, server.DuplicatesDropped);
        Assert.Equal([1, 1, 0], server.Requests.Select(r => r.Duplicates));
        Assert.Equal(["fake x same", "fake x other line", "fake y same", "b x same"], server.Entries.Select(e => $"{e.Tenant} {e.LabelMap["app"]} {e.Line}"));
    }

    [Theory]
    [InlineData(10, new[] { "aaaaa", "bbbbb", "ccccc", "aaaaa" }, 0)]
    [InlineData(256 * 1024, new[] { "aaaaa", "bbbbb", "ccccc" }, 1)]
    public async Task An_older_copy_is_dropped_while_in_the_head_block_and_stored_again_once_it_was_cut(int headBlockBytes, string[] stored, int dropped)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), HeadBlockBytes = headBlockBytes });
        using var http = new HttpClient();
        HttpContent Body(params (int Second, string Line)[] entries) =>
            Protobuf(Request(Stream("{app=\"x\"}", entries.Select(e => Entry(Ns(TimeSpan.FromSeconds(e.Second)), e.Line)).ToArray())));

        await PushAsync(http, server, Body((0, "aaaaa"), (1, "bbbbb")));
        await PushAsync(http, server, Body((2, "ccccc")));
        var (status, _) = await PushAsync(http, server, Body((0, "aaaaa")));

        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(stored, server.Entries.Select(e => e.Line));
        Assert.Equal(dropped, server.DuplicatesDropped);
    }

    [Fact]
    public async Task A_late_resend_beyond_the_window_is_refused_not_deduplicated()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var old = Entry(Ns(TimeSpan.FromHours(-2)), "old");
        var recent = Entry(Ns(TimeSpan.Zero), "recent");
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", old, recent))));

        var (lateStatus, lateBody) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", old))));
        var (lastStatus, _) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", recent))));

        Assert.Equal(HttpStatusCode.BadRequest, lateStatus);
        Assert.Contains("entry too far behind, entry timestamp is: 2025-12-31T22:00:00Z", lateBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, lastStatus);
        Assert.Equal(1, server.DuplicatesDropped);
        Assert.Equal(2, server.EntryCount);
    }

    [Theory]
    [InlineData(3, 6, 1)]
    [InlineData(3, 7, 2)]
    public async Task From_3_7_a_resend_with_other_structured_metadata_is_stored_again(int major, int minor, int stored)
    {
        await using var server = await StartAsync(LokiDialect.Of(major, minor));
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.Zero);

        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "line", ("trace_id", "1"))))));
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "line", ("trace_id", "2"))))));

        Assert.Equal(stored, server.EntryCount);
        Assert.Equal(2 - stored, server.DuplicatesDropped);
    }

    [Fact]
    public async Task Loki_3_7_compares_metadata_regardless_of_its_order()
    {
        await using var server = await StartAsync(LokiDialect.V3_7);
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.Zero);

        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "line", ("a", "1"), ("b", "2")), Entry(ns, "other")))));
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(ns, "line", ("b", "2"), ("a", "1"))))));

        Assert.Equal(2, server.EntryCount);
        Assert.Equal(1, server.DuplicatesDropped);
    }
}
