using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.LokiTestServer;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// Lines travel as the formatter's UTF-8 bytes in pooled buffers: whatever happens to a batch on the
/// way (answers that make it resend, halve, or go stream by stream), every request must still carry
/// the exact line. A buffer handed back too early is cleared, so it would arrive as a wrong line.
/// </summary>
public sealed class ShippedLinesTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new LokiTestServerOptions { MaxBodyBytes = 600 });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private static LogEntry Make(long sequence)
    {
        var entry = Entry(sequence);
        entry.Template = "seq {Seq} née 日本 😀 {Shard}";
        entry.Properties.Add(new("Shard", sequence % 3));
        return entry;
    }

    [Theory]
    [InlineData(PushEncoding.Protobuf)]
    [InlineData(PushEncoding.Json)]
    public async Task Resent_and_split_requests_carry_each_line_byte_for_byte(PushEncoding encoding)
    {
        // Resent twice, then 429 until the request is halved, then halves over the server's body limit split again.
        _server.Enqueue(
            ScriptedResponse.Status(500),
            ScriptedResponse.Status(503),
            ScriptedResponse.Status(429),
            ScriptedResponse.Status(429),
            ScriptedResponse.Status(429));
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, 64 * 1024));
        var options = Options(_server.BaseAddress);
        options.Loki.Encoding = encoding;
        options.LabelProperties = ["Shard"];
        options.MaxInFlight = 3;
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 300, Make);

        shipper.Start();
        Assert.True(await shipper.FlushAsync(Patience));

        using var formatter = new LineFormatter(options.LineFormat);
        var encoder = new EntryEncoder();
        var expected = new Dictionary<long, string>();
        for (var i = 0L; i < 300; i++)
        {
            Assert.True(EntryView.TryDecode(encoder.Encode(Make(i)), out var view));
            expected[i] = System.Text.Encoding.UTF8.GetString(formatter.Format(view, includeTrace: true));
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), Sequences(_server.Entries).Distinct().Order());
        foreach (var entry in _server.Entries)
        {
            var sequence = Sequences([entry]).Single();
            Assert.Equal(expected[sequence], entry.Line);
            Assert.Equal((sequence % 3).ToString(System.Globalization.CultureInfo.InvariantCulture), entry.LabelMap["Shard"]);
        }

        Assert.Contains(_server.Requests, r => r.Status == 413);
        Assert.Contains(_server.Requests, r => r.Status == 429);
    }
}
