using System.Net;
using System.Text;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;

namespace LogPersist.Tests.LokiServer;

/// <summary>Scripted answers for a client's distrust tests: statuses, Retry-After, any headers, redirects, huge bodies, resets.</summary>
public sealed class ScriptingTests
{
    private static ByteArrayContent Body(string line = "line") => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line))));

    [Fact]
    public async Task Scripted_429_carries_retry_after_and_stores_nothing()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var date = new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero);
        server.Enqueue(
            ScriptedResponse.Status(429, "slow down", retryAfter: TimeSpan.FromSeconds(6.2)),
            ScriptedResponse.Status(503, retryAfterDate: date));

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
    public async Task Retry_after_of_zero_of_a_negative_delay_and_of_a_past_date_are_sent_as_given()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var past = Now - TimeSpan.FromDays(1);
        server.Enqueue(
            ScriptedResponse.Status(429, retryAfter: TimeSpan.Zero),
            ScriptedResponse.Status(429, retryAfter: TimeSpan.FromSeconds(-5)),
            ScriptedResponse.Status(503, retryAfterDate: past));

        using var zero = await http.PostAsync(server.PushUri, Body());
        using var negative = await http.PostAsync(server.PushUri, Body());
        using var pastDate = await http.PostAsync(server.PushUri, Body());

        Assert.Equal(TimeSpan.Zero, zero.Headers.RetryAfter?.Delta);
        Assert.Equal(TimeSpan.Zero, negative.Headers.RetryAfter?.Delta);
        Assert.Equal(past, pastDate.Headers.RetryAfter?.Date);
        Assert.Equal("Wed, 31 Dec 2025 00:00:00 GMT", Assert.Single(pastDate.Headers.GetValues("Retry-After")));
    }

    [Fact]
    public async Task Answer_sends_exactly_the_headers_given()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.Answer(502, "<html><body>Bad Gateway</body></html>", ("Content-Type", "text/html"), ("Retry-After", "soon"), ("X-Gateway", "nginx")));

        using var response = await http.PostAsync(server.PushUri, Body());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("soon", Assert.Single(response.Headers.NonValidated["Retry-After"]));
        Assert.Equal("nginx", Assert.Single(response.Headers.GetValues("X-Gateway")));
        Assert.Equal("<html><body>Bad Gateway</body></html>", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Redirect_to_login_is_followed_to_an_html_page_or_seen_as_is()
    {
        await using var server = await StartAsync();
        using var following = new HttpClient();
        using var notFollowing = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        server.Enqueue(ScriptedResponse.Redirect(302, "/login"), ScriptedResponse.Redirect(302, "/login"));

        using var followed = await following.PostAsync(server.PushUri, Body());
        using var seen = await notFollowing.PostAsync(server.PushUri, Body());

        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        Assert.Equal(server.LoginUri, followed.RequestMessage?.RequestUri);
        Assert.Equal("text/html", followed.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<form", await followed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, seen.StatusCode);
        Assert.Equal("/login", seen.Headers.Location?.OriginalString);
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Generated_body_of_300_MB_is_offered_without_being_held_and_the_client_may_stop_reading()
    {
        const long size = 300_000_000;
        await using var server = await StartAsync();
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.GeneratedBody(500, size));

        using var request = new HttpRequestMessage(HttpMethod.Post, server.PushUri) { Content = Body() };
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal(size, response.Content.Headers.ContentLength);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var start = new byte[1024 * 1024];
            await stream.ReadExactlyAsync(start);
            Assert.StartsWith("generated by the Loki test server", Encoding.ASCII.GetString(start), StringComparison.Ordinal);
        }

        using var next = await http.PostAsync(server.PushUri, Body("after"));
        Assert.Equal(HttpStatusCode.NoContent, next.StatusCode);
        Assert.InRange(server.GeneratedBodyBytesSent, 1, size - 1);
    }

    [Fact]
    public async Task Generated_body_without_a_length_is_sent_chunked_in_full()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.GeneratedBody(413, 100_000, "text/html", declareLength: false));

        using var response = await http.PostAsync(server.PushUri, Body());
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Equal(100_000, body.Length);
    }

    [Fact]
    public async Task Stall_holds_the_request_until_released_then_processes_it()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var release = new TaskCompletionSource();
        server.Enqueue(ScriptedResponse.Stall(release.Task));
        var content = new SignallingContent(Body("held"));

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
        await using var server = await StartAsync();
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.Reset());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(server.PushUri, Body("lost")));
        using var next = await http.PostAsync(server.PushUri, Body("kept"));

        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Equal(HttpStatusCode.NoContent, next.StatusCode);
        Assert.Equal("kept", Assert.Single(server.Entries).Line);
        Assert.Equal([0, 204], server.Requests.Select(r => r.Status));
    }
}
