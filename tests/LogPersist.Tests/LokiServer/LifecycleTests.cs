using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;

namespace LogPersist.Tests.LokiServer;

/// <summary>The server going down and coming back, and waiting for entries.</summary>
public sealed class LifecycleTests
{
    private static ByteArrayContent Body(string line) => Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), line))));

    [Fact]
    public async Task Stop_refuses_connections_and_restart_on_the_same_port_keeps_entries()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
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
        await using var server = await StartAsync();
        using var http = new HttpClient();
        server.Enqueue(ScriptedResponse.Stall(new TaskCompletionSource().Task));
        var content = new SignallingContent(Body("held"));
        var push = http.PostAsync(server.PushUri, content);
        await content.Sent.WaitAsync(Patience);

        await server.StopAsync().WaitAsync(Patience);

        await Assert.ThrowsAsync<HttpRequestException>(() => push);
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task WaitForEntries_is_signalled_by_a_push_and_times_out_without_one()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        Assert.False(await server.WaitForEntriesAsync(1, TimeSpan.FromMilliseconds(50)));
        var waiting = server.WaitForEntriesAsync(2, Patience);
        Assert.False(waiting.IsCompleted);
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"x\"}", Entry(Ns(TimeSpan.Zero), "a"), Entry(Ns(TimeSpan.Zero), "b")))));

        Assert.True(await waiting);
    }
}
