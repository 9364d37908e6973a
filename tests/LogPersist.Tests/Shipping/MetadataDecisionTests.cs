using System.IO.Abstractions;
using System.Net;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>Whether entries carry structured metadata is asked of Loki until it answers, and kept with the WAL.</summary>
public sealed class MetadataDecisionTests : IDisposable
{
    private static readonly Uri Loki = new("http://127.0.0.1:1/");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Func<HttpRequestMessage, HttpResponseMessage> Version(string version) => _ =>
        new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"{{\"version\":\"{version}\",\"revision\":\"abc\"}}") };

    private ShipperOptions AutoOptions()
    {
        var options = Options(Loki);
        options.StructuredMetadata = StructuredMetadataMode.Auto;
        return options;
    }

    private void SaveDescription() =>
        new StreamDescription { Labels = LabelSet.Create([new("service_name", "tests"), new("pod", "tests-0")]) }.Save(new FileSystem(), _dir.Path);

    private bool? SavedDecision()
    {
        Assert.True(StreamDescription.TryLoad(new FileSystem(), _dir.Path, out var description, out var error), error);
        return description.MetadataDecision;
    }

    [Theory]
    [InlineData("http://gw:3100/", "http://gw:3100/loki/api/v1/status/buildinfo")]
    [InlineData("http://gw:3100/loki/api/v1/push", "http://gw:3100/loki/api/v1/status/buildinfo")]
    [InlineData("https://gw/loki/loki/api/v1/push", "https://gw/loki/loki/api/v1/status/buildinfo")]
    [InlineData("https://gw/tenant-a/loki/api/v1/push/", "https://gw/tenant-a/loki/api/v1/status/buildinfo")]
    [InlineData("https://gw/custom/push", "https://gw/loki/api/v1/status/buildinfo")]
    public void Buildinfo_is_asked_under_the_push_urls_prefix(string endpoint, string expected) =>
        Assert.Equal(new Uri(expected), LokiClient.BuildInfoUri(new LokiClientOptions { Endpoint = new Uri(endpoint) }.PushUri));

    [Fact]
    public async Task An_unanswered_buildinfo_is_asked_again_and_its_answer_is_kept_with_the_WAL()
    {
        SaveDescription();
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var handler = new ScriptedHandler(ScriptedHandler.Status(503), ScriptedHandler.Refused(), Version("3.4.1"), ScriptedHandler.Status(204));
        await using var shipper = new Shipper(wal, AutoOptions(), handler);
        Log(wal, 0, 5);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(shipper.SendsStructuredMetadata);
        Assert.True(SavedDecision());
        Assert.Equal(4, handler.Calls);
    }

    [Fact]
    public async Task A_decision_kept_with_the_WAL_wins_over_a_new_answer_after_a_restart()
    {
        new StreamDescription { Labels = LabelSet.Create([new("service_name", "tests")]), MetadataDecision = true }.Save(new FileSystem(), _dir.Path);
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        // Were buildinfo asked, the first answer (a 2.9) would turn metadata off; the push is the first request.
        var handler = new ScriptedHandler(ScriptedHandler.Status(204));
        await using var shipper = new Shipper(wal, AutoOptions(), handler);
        Log(wal, 0, 5);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(shipper.SendsStructuredMetadata);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task A_buildinfo_that_keeps_failing_ships_with_metadata_in_the_lines_and_keeps_asking()
    {
        SaveDescription();
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var calls = 0;
        var handler = new ScriptedHandler(request =>
        {
            Interlocked.Increment(ref calls);
            return request.Method == HttpMethod.Get
                ? Volatile.Read(ref calls) < 8 ? new HttpResponseMessage(HttpStatusCode.BadGateway) : Version("3.6.0")(request)
                : new HttpResponseMessage(HttpStatusCode.NoContent);
        });
        await using var shipper = new Shipper(wal, AutoOptions(), handler);
        Log(wal, 0, 5);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        Assert.False(shipper.SendsStructuredMetadata);
        Assert.Null(SavedDecision());

        await WaitForAsync(() => shipper.SendsStructuredMetadata, "buildinfo answered at last");
        Assert.True(SavedDecision());
    }

    [Fact]
    public async Task A_gateway_without_buildinfo_is_an_answer_metadata_goes_in_the_lines()
    {
        SaveDescription();
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var handler = new ScriptedHandler(ScriptedHandler.Status(404, body: "404 page not found"), ScriptedHandler.Status(204));
        await using var shipper = new Shipper(wal, AutoOptions(), handler);
        Log(wal, 0, 5);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.False(shipper.SendsStructuredMetadata);
        Assert.False(SavedDecision());
        Assert.Equal(2, handler.Calls);
    }
}
