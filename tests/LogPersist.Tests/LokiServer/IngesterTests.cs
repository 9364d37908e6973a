using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// The ingester: "entry too far behind" per stream, answered for the request's last stream only (and then instead of
/// the distributor's errors), at most 10 entries listed.
/// </summary>
public sealed class IngesterTests
{
    private static readonly TimeSpan Newest = TimeSpan.FromMinutes(-1);

    private static async Task<TestServer> StartWithNewestAsync(HttpClient http, LokiDialect? dialect = null)
    {
        var server = await StartAsync(dialect);
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(Newest), "newest")))));
        return server;
    }

    [Fact]
    public async Task Entry_too_far_behind_the_newest_of_its_stream_is_refused_with_the_3x_body()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http);

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"y\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "another stream")),
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind"), Entry(Ns(Newest - TimeSpan.FromMinutes(59)), "within the window")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            """
            entry with timestamp 2025-12-31 22:58:00 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2025-12-31T22:58:00Z, oldest acceptable timestamp is: 2025-12-31T22:59:00Z',
            user 'fake', total ignored: 1 out of 2 for stream: {app="x", service_name="x"}

            """,
            body);
        Assert.Equal(["newest", "another stream", "within the window"], server.Entries.Select(e => e.Line));
    }

    [Fact]
    public async Task Loki_2_7_names_the_stream_on_every_line_and_prints_only_the_cutoff()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http, LokiDialect.V2);

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind"), Entry(Ns(Newest - TimeSpan.FromMinutes(59)), "within the window")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            """
            entry with timestamp 2025-12-31 22:58:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2025-12-31T22:59:00Z' for stream: {app="x"},
            total ignored: 1 out of 2

            """,
            body);
    }

    [Fact]
    public async Task At_most_ten_refused_entries_are_listed_and_all_are_counted()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http);
        var late = Enumerable.Range(0, 12).Select(i => Entry(Ns(Newest - TimeSpan.FromHours(2) + TimeSpan.FromSeconds(i)), $"late {i}")).ToArray();

        var (_, body) = await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", late))));

        var lines = body.TrimEnd('\n').Split('\n');
        Assert.Equal(11, lines.Length);
        Assert.All(lines[..10], line => Assert.StartsWith("entry with timestamp 2025-12-31 21:59:", line, StringComparison.Ordinal));
        Assert.Equal("user 'fake', total ignored: 12 out of 12 for stream: {app=\"x\", service_name=\"x\"}", lines[10]);
        Assert.Equal(12, server.Requests[^1].Refused);
    }

    [Fact]
    public async Task A_later_stream_that_succeeds_masks_the_refusal_with_204()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http);

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind")),
            Stream("{app=\"y\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "another stream")))));

        Assert.Equal((HttpStatusCode.NoContent, ""), (status, body));
        Assert.Equal((1, 1), (server.Requests[^1].Refused, server.Requests[^1].Stored));
        Assert.DoesNotContain(server.Entries, e => e.Line == "too far behind");
    }

    [Fact]
    public async Task The_ingesters_refusal_replaces_the_distributors()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http);

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.FromDays(-8)), "too old")),
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.DoesNotContain("too old", body, StringComparison.Ordinal);
        Assert.EndsWith("user 'fake', total ignored: 1 out of 1 for stream: {app=\"x\", service_name=\"x\"}\n", body, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests[^1].Refused);
    }

    [Fact]
    public async Task Without_an_ingester_refusal_in_the_last_stream_the_distributors_errors_are_answered()
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http);

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind")),
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.FromDays(-8)), "too old"), Entry(Ns(TimeSpan.Zero), "fine")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("entry for stream '{app=\"y\", service_name=\"y\"}' has timestamp too old", body, StringComparison.Ordinal);
        Assert.Equal(2, server.Requests[^1].Refused);
    }

    [Theory]
    [InlineData(3, 1, false)]
    [InlineData(3, 2, true)]
    public async Task Before_3_2_a_last_stream_left_without_valid_entries_still_masks_the_ingester(int major, int minor, bool ingesterAnswers)
    {
        using var http = new HttpClient();
        await using var server = await StartWithNewestAsync(http, LokiDialect.Of(major, minor));

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"x\"}", Entry(Ns(Newest - TimeSpan.FromMinutes(61)), "too far behind")),
            Stream("{app=\"y\"}", Entry(Ns(TimeSpan.FromDays(-8)), "too old")))));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(ingesterAnswers, body.Contains("total ignored", StringComparison.Ordinal));
        Assert.Equal(!ingesterAnswers, body.Contains("timestamp too old", StringComparison.Ordinal));
    }
}
