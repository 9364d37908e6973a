using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>Where the server answers: a gateway's path prefix, buildinfo (failing at first if asked to), the login page, readiness.</summary>
public sealed class RoutingTests
{
    private static ByteArrayContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

    [Fact]
    public async Task Behind_a_path_prefix_push_and_buildinfo_answer_only_under_it()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), PathPrefix = "/loki", Version = "3.5.0" });
        using var http = new HttpClient();

        using var prefixedPush = await http.PostAsync(server.PushUri, Body());
        using var rootPush = await http.PostAsync(new Uri(server.BaseAddress, "loki/api/v1/push"), Body());
        var prefixedInfo = await http.GetStringAsync(server.BuildInfoUri);
        using var rootInfo = await http.GetAsync(new Uri(server.BaseAddress, "loki/api/v1/status/buildinfo"));
        using var login = await http.GetAsync(server.LoginUri);

        Assert.Equal(new Uri(server.BaseAddress, "loki/loki/api/v1/push"), server.PushUri);
        Assert.Equal(new Uri(server.BaseAddress, "loki/loki/api/v1/status/buildinfo"), server.BuildInfoUri);
        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NotFound), (prefixedPush.StatusCode, rootPush.StatusCode));
        Assert.Equal("""{"version":"3.5.0"}""", prefixedInfo);
        Assert.Equal(HttpStatusCode.NotFound, rootInfo.StatusCode);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal(1, server.EntryCount);
    }

    [Fact]
    public async Task Buildinfo_fails_500_the_first_times_when_asked_then_answers()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), Version = "3.6.1", BuildInfoFailures = 2 });
        using var http = new HttpClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.GetAsync(server.BuildInfoUri);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.InternalServerError, HttpStatusCode.InternalServerError, HttpStatusCode.OK], statuses);
        Assert.Equal(3, server.BuildInfoRequests);
    }

    [Fact]
    public async Task Buildinfo_without_a_version_is_404()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync(server.BuildInfoUri);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Login_page_is_html()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync(server.LoginUri);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<!DOCTYPE html>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_answers_ready()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        Assert.Equal("ready\n", await http.GetStringAsync(new Uri(server.BaseAddress, "ready")));
    }
}
