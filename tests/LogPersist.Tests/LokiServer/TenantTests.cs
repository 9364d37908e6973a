using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>Who may push: credentials, a required X-Scope-OrgID, and the tenant ids Loki accepts (400 for the rest, before the body is read).</summary>
public sealed class TenantTests
{
    private static ByteArrayContent Body() => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

    [Theory]
    [InlineData("team a", "tenant ID 'team a' contains unsupported character ' '")]
    [InlineData("a/b", "tenant ID 'a/b' contains unsupported character '/'")]
    [InlineData("a:sub", "tenant ID 'a:sub' contains unsupported character ':'")]
    [InlineData(".", "tenant ID is '.' or '..'")]
    [InlineData("..", "tenant ID is '.' or '..'")]
    [InlineData("a|b", "multiple org IDs present")]
    [InlineData("a|b c", "tenant ID 'b c' contains unsupported character ' '")]
    public async Task Loki_3_refuses_a_tenant_id_it_cannot_use_400(string orgId, string expected)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Body(), Tenant(orgId));

        Assert.Equal((HttpStatusCode.BadRequest, expected + "\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task A_tenant_id_longer_than_150_bytes_is_refused()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (longest, _) = await PushAsync(http, server, Body(), Tenant(new string('t', 150)));
        var (tooLong, body) = await PushAsync(http, server, Body(), Tenant(new string('t', 151)));

        Assert.Equal(HttpStatusCode.NoContent, longest);
        Assert.Equal((HttpStatusCode.BadRequest, "tenant ID is too long: max 150 characters\n"), (tooLong, body));
    }

    [Fact]
    public async Task The_same_tenant_twice_and_every_allowed_character_are_accepted()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (twice, _) = await PushAsync(http, server, Body(), Tenant("a|a"));
        var (special, _) = await PushAsync(http, server, Body(), Tenant("Az09!-_.*'()"));

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (twice, special));
        Assert.Equal(["a", "Az09!-_.*'()"], server.Entries.Select(e => e.Tenant));
    }

    [Theory]
    [InlineData("a:sub", HttpStatusCode.NoContent, "")]
    [InlineData("a|b c", HttpStatusCode.BadRequest, "multiple org IDs present\n")]
    public async Task Loki_3_7_strips_a_subtenant_and_checks_only_the_first_id(string orgId, HttpStatusCode expected, string body)
    {
        await using var server = await StartAsync(LokiDialect.V3_7);
        using var http = new HttpClient();

        var answer = await PushAsync(http, server, Body(), Tenant(orgId));

        Assert.Equal((expected, body), answer);
        Assert.All(server.Entries, e => Assert.Equal("a", e.Tenant));
    }

    [Fact]
    public async Task Loki_2_refuses_only_dot_and_dot_dot()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (spaced, _) = await PushAsync(http, server, Body(), Tenant("team a"));
        var (piped, _) = await PushAsync(http, server, Body(), Tenant("a|b"));
        var (dot, body) = await PushAsync(http, server, Body(), Tenant(".."));

        Assert.Equal((HttpStatusCode.NoContent, HttpStatusCode.NoContent), (spaced, piped));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid tenant ID\n"), (dot, body));
        Assert.Equal(["team a", "a|b"], server.Entries.Select(e => e.Tenant));
    }

    [Fact]
    public async Task Missing_tenant_is_refused_401_when_a_tenant_is_required()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), RequireTenant = true });
        using var http = new HttpClient();

        var (anonymous, body) = await PushAsync(http, server, Body());
        var (withTenant, _) = await PushAsync(http, server, Body(), Tenant("acme"));

        Assert.Equal((HttpStatusCode.Unauthorized, "no org id\n"), (anonymous, body));
        Assert.Equal(HttpStatusCode.NoContent, withTenant);
        Assert.Equal("acme", Assert.Single(server.Entries).Tenant);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_401()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { TimeProvider = Clock(), RequiredAuthorization = "Bearer s3cret" });
        using var http = new HttpClient();

        var (none, _) = await PushAsync(http, server, Body());
        var (wrong, _) = await PushAsync(http, server, Body(), Bearer("guess"));
        var (right, _) = await PushAsync(http, server, Body(), Bearer("s3cret"));

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.NoContent], new[] { none, wrong, right });
        Assert.Equal(1, server.EntryCount);
        Assert.Equal("Bearer s3cret", server.Requests[2].Authorization);
    }
}
