using System.Net;
using System.Net.Http.Headers;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>What the server's tests share: a clock at <see cref="Pushes.Now"/>, options on it, and a push that returns status and body.</summary>
internal static class ServerTesting
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>A manual clock standing at <see cref="Pushes.Now"/>.</summary>
    public static ManualTime Clock()
    {
        var time = new ManualTime();
        time.Advance(Pushes.Now - time.GetUtcNow());
        return time;
    }

    /// <summary>Default options in <paramref name="dialect"/> (3.x when null), on a clock at <see cref="Pushes.Now"/>.</summary>
    public static LokiTestServerOptions Options(LokiDialect? dialect = null) => new() { TimeProvider = Clock(), Dialect = dialect ?? LokiDialect.V3 };

    public static Task<TestServer> StartAsync(LokiDialect? dialect = null) => TestServer.StartAsync(Options(dialect));

    public static async Task<(HttpStatusCode Status, string Body)> PushAsync(HttpClient http, TestServer server, HttpContent content, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, server.PushUri) { Content = content };
        configure?.Invoke(request);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Sends X-Scope-OrgID: <paramref name="tenant"/>.</summary>
    public static Action<HttpRequestMessage> Tenant(string tenant) => request => request.Headers.TryAddWithoutValidation("X-Scope-OrgID", tenant);

    public static Action<HttpRequestMessage> Bearer(string token) => request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
}
