using LogPersist.Diagnostics;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogEntry = LogPersist.Entries.LogEntry;
using ScriptedResponse = LogPersist.LokiTestServer.ScriptedResponse;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>Only what Loki stored is acknowledged: answers that store nothing, or are not Loki's, never move the checkpoint.</summary>
public sealed class LokiAnswerTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private WriteAheadLog OpenWal() => WriteAheadLog.Open(Wals.Options(_dir.Path));

    private void AssertEachStoredOnce(int count)
    {
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), Sequences(_server.Entries).Order());
        Assert.Equal(0, _server.DuplicatesDropped);
    }

    [Fact]
    public async Task A_260_stores_nothing_and_acknowledges_nothing_until_a_204()
    {
        using var wal = OpenWal();
        var before = wal.Checkpoint;
        var until = DateTimeOffset.UtcNow.AddMilliseconds(50).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        var blocked = $"ingestion blocked for user 'fake' until '{until}' with status code '260'";
        var release = new TaskCompletionSource();
        // Three blocked answers, then the push after them is held until the test has looked.
        _server.Enqueue(ScriptedResponse.Status(260, blocked), ScriptedResponse.Status(260, blocked), ScriptedResponse.Status(260, blocked), ScriptedResponse.Stall(release.Task));
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 50);
        shipper.Start();

        await WaitForAsync(() => _server.Requests.Count >= 3, "three blocked pushes");
        Assert.Equal(before, shipper.Acknowledged);
        Assert.NotNull(shipper.Blocked);
        Assert.Equal(260, shipper.Blocked!.Status);
        Assert.Equal(0, shipper.Metrics.ShippedEntries);
        Assert.Equal(0, _server.EntryCount);

        release.SetResult();
        Assert.True(await shipper.FlushAsync(Patience));
        Assert.Equal(new[] { 260, 260, 260, 204 }, _server.Requests.Take(4).Select(r => r.Status));
        AssertEachStoredOnce(50);
        Assert.Null(shipper.Blocked);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
    }

    [Fact]
    public async Task An_html_400_from_a_proxy_is_held_and_retried_not_counted_as_refusals()
    {
        using var wal = OpenWal();
        const string Html = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body><center><h1>400 Bad Request</h1></center></body>\r\n</html>\r\n";
        _server.Enqueue(ScriptedResponse.Status(400, Html), ScriptedResponse.Status(400, Html));
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 300);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachStoredOnce(300);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        Assert.Contains("not Loki's", shipper.LastError, StringComparison.Ordinal);
        Assert.Null(shipper.Refusals.RefusingSince);
    }

    [Fact]
    public async Task A_tenant_read_with_a_trailing_newline_is_sent_trimmed()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.Loki.Tenant = "team-a\n";
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 10);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.All(_server.Requests, r => Assert.Equal("team-a", r.Tenant));
        Assert.All(_server.Entries, e => Assert.Equal("team-a", e.Tenant));
        AssertEachStoredOnce(10);
    }

    [Theory]
    [InlineData("team\na")]
    [InlineData("team a")]
    [InlineData("a|b")]
    [InlineData("..")]
    public void A_tenant_Loki_would_refuse_is_refused_at_start(string tenant)
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.Loki.Tenant = tenant;
        var error = Assert.Throws<ArgumentException>(() => new Shipper(wal, options));
        Assert.Contains("tenant", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Header_values_with_line_breaks_are_refused_at_start()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.Loki.Headers = new Dictionary<string, string> { ["X-Api-Key"] = "abc\r\nX-Evil: 1" };
        Assert.Throws<ArgumentException>(() => new Shipper(wal, options));
    }

    [Fact]
    public async Task Each_stream_goes_in_a_request_of_its_own_so_a_refusal_of_its_labels_refuses_that_stream_only()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.LabelProperties = ["Shard"];

        // The first request to arrive holds one stream alone (the streams go in parallel); Loki refuses it whole.
        _server.Enqueue(ScriptedResponse.Status(400, "couldn't parse labels: 1:20: parse error: invalid UTF-8 rune"));
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 40, s =>
        {
            var entry = Entry(s);
            entry.Properties.Add(new("Shard", s % 2 == 0 ? "even" : "odd"));
            return entry;
        });
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.All(_server.Requests, r => Assert.True(r.Status != 204 || r.Streams == 1, $"a request of {r.Streams} streams"));
        var stored = Sequences(_server.Entries).Order().ToList();
        var storedParity = stored.Count > 0 ? stored[0] % 2 : -1;
        Assert.Equal(Enumerable.Range(0, 40).Where(s => s % 2 == storedParity).Select(s => (long)s), stored);
        Assert.Equal(20, shipper.Metrics.Refused(RefusalReason.StreamLabels));
        Assert.Equal(0, _server.DuplicatesDropped);
    }

    [Fact]
    public async Task A_label_value_with_a_replacement_character_is_sanitised_so_no_stream_is_refused()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.LabelProperties = ["Shard"];
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 40, s =>
        {
            var entry = Entry(s);
            entry.Properties.Add(new("Shard", s % 2 == 0 ? "ok" : "bad\uFFFD\u0007\ud800"));
            return entry;
        });
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachStoredOnce(40);
        Assert.Equal(["bad___", "ok"], _server.Entries.Select(e => e.LabelMap["Shard"]).Distinct().Order());
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
    }

    [Fact]
    public async Task A_stream_refused_for_its_labels_is_counted_marked_once_and_reported_unhealthy()
    {
        using var wal = OpenWal();
        var stream = "{pod=\"tests-0\", service_name=\"tests\"}";
        var refusal = $"entry for stream '{stream}' has 2 label names; limit 1";
        // Every push is refused for the stream's labels: the data, then the refusal marker itself.
        _server.Enqueue(Enumerable.Repeat(ScriptedResponse.Status(400, refusal), 10).ToArray());
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 20);
        shipper.Start();

        await WaitForAsync(() => shipper.Metrics.RefusedTotal() >= 21, "the entries and the marker refused");
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.Equal(21, shipper.Metrics.Refused(RefusalReason.StreamLabels));
        Assert.Equal(21, wal.Metrics.AppendedRecords);
        Assert.Equal(stream, Assert.Single(shipper.RejectedStreams).Labels);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task A_redirect_to_a_login_page_is_never_followed_nor_taken_for_an_acknowledgement()
    {
        using var wal = OpenWal();
        _server.Enqueue(ScriptedResponse.Redirect(302, "/login"), ScriptedResponse.Redirect(302, "/login"));
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 100);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.Equal(new[] { 302, 302, 204 }, _server.Requests.Take(3).Select(r => r.Status));
        AssertEachStoredOnce(100);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        Assert.Contains("redirect", shipper.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_to_another_host_sends_nothing_there()
    {
        await using var elsewhere = await TestServer.StartAsync();
        using var wal = OpenWal();
        _server.Enqueue(ScriptedResponse.Redirect(307, elsewhere.PushUri.ToString()), ScriptedResponse.Redirect(308, elsewhere.PushUri.ToString()));
        var options = Options(_server.BaseAddress);
        options.Loki.Tenant = "team-a";
        options.Loki.Headers = new Dictionary<string, string> { ["X-Api-Key"] = "secret" };
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 100);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.Empty(elsewhere.Requests);
        Assert.Equal(0, elsewhere.EntryCount);
        AssertEachStoredOnce(100);
        Assert.Contains(elsewhere.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), shipper.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_300_MB_error_body_is_read_no_further_than_64_KiB_and_acknowledges_nothing()
    {
        using var wal = OpenWal();
        _server.Enqueue(ScriptedResponse.GeneratedBody(400, 300_000_000), ScriptedResponse.GeneratedBody(500, 300_000_000));
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 100);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachStoredOnce(100);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        // What the server got out before the client closed: socket buffers, not the body.
        Assert.InRange(_server.GeneratedBodyBytesSent, 1, 32L << 20);
    }
}
