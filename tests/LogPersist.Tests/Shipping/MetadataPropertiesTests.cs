using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// <see cref="LogPersistOptions.MetadataProperties"/>: chosen properties travel as structured metadata where
/// Loki takes it and stay in the line where it does not, under the WAL's one decision, so a resend is identical.
/// </summary>
public sealed class MetadataPropertiesTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Chosen_scalar_properties_travel_as_metadata_and_leave_the_line_where_Loki_takes_metadata()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = LokiDialect.Of(3, 5), Version = "3.5.0" });
        await ShipAsync(server, ["user_id", "Count", "Shape", "http.method"]);

        var entry = Assert.Single(server.Entries);
        var metadata = entry.StructuredMetadata.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("u-17", metadata["user_id"]);
        Assert.Equal("3", metadata["Count"]);
        Assert.Equal("GET", metadata["http_method"]);
        Assert.False(metadata.ContainsKey("Shape"), "a map is no scalar: it stays in the line");
        var line = JsonDocument.Parse(entry.Line).RootElement;
        Assert.False(line.TryGetProperty("user_id", out _));
        Assert.False(line.TryGetProperty("Count", out _));
        Assert.False(line.TryGetProperty("http.method", out _));
        Assert.Equal(1, line.GetProperty("Shape").GetProperty("sides").GetInt32());
        Assert.Equal("kept", line.GetProperty("Other").GetString());
    }

    [Theory]
    [InlineData("2.9.0", true)]
    [InlineData("3.5.0", false)]
    public async Task Where_Loki_takes_no_metadata_the_properties_stay_in_the_line(string version, bool allowed)
    {
        var major = int.Parse(version[..1], System.Globalization.CultureInfo.InvariantCulture);
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions
        {
            Dialect = LokiDialect.Of(major, int.Parse(version[2..3], System.Globalization.CultureInfo.InvariantCulture)),
            Version = version,
            AllowStructuredMetadata = allowed && major >= 3,
        });
        await ShipAsync(server, ["user_id", "Count"]);

        var entry = Assert.Single(server.Entries);
        Assert.Empty(entry.StructuredMetadata);
        var line = JsonDocument.Parse(entry.Line).RootElement;
        Assert.Equal("u-17", line.GetProperty("user_id").GetString());
        Assert.Equal(3, line.GetProperty("Count").GetInt32());
    }

    [Fact]
    public async Task A_star_sends_every_scalar_property_and_what_passes_Lokis_size_limit_stays_in_the_line()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = LokiDialect.Of(3, 5), Version = "3.5.0" });
        var big = new string('x', 30_000);
        await ShipAsync(server, ["*"], e =>
        {
            e.Properties.Add(new("First", big));
            e.Properties.Add(new("Second", big));
            e.Properties.Add(new("Third", big));
        });

        var entry = Assert.Single(server.Entries);
        var names = entry.StructuredMetadata.Select(p => p.Key).ToHashSet();
        Assert.Superset(new HashSet<string> { "user_id", "Count", "http_method", "Other", "First", "Second" }, names);
        Assert.DoesNotContain("Third", names);
        Assert.True(entry.StructuredMetadata.Sum(p => p.Key.Length + p.Value.Length) <= 64 * 1024);
        Assert.Equal(big, JsonDocument.Parse(entry.Line).RootElement.GetProperty("Third").GetString());
    }

    [Fact]
    public async Task An_entry_sent_again_after_a_restart_carries_the_metadata_of_its_first_send()
    {
        // Loki 3.7 compares metadata when it drops a duplicate: a resend with other metadata would be stored twice.
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = LokiDialect.Of(3, 7), Version = "3.7.0" });
        var options = Options(server, ["user_id", "Count"]);
        options.HttpHandler = new AnswerLost { InnerHandler = new SocketsHttpHandler() };
        options.FlushTimeout = TimeSpan.FromMilliseconds(300);
        await using (var pipeline = LogPipeline.Open(options))
        {
            for (var i = 0; i < 5; i++)
            {
                pipeline.Append(Encode(i));
            }

            await WaitForAsync(() => server.EntryCount == 5, "the entries to be stored while their answer is lost");
        }

        var restarted = Options(server, ["user_id", "Count"]);
        await using (var pipeline = LogPipeline.Open(restarted))
        {
            Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(5, server.EntryCount);
        Assert.All(server.Entries, e => Assert.Contains(e.StructuredMetadata, p => p.Key == "user_id"));
        Assert.True(server.DuplicatesDropped >= 5, $"{server.DuplicatesDropped} resent entries were recognised as duplicates");
    }

    private async Task ShipAsync(TestServer server, List<string> metadataProperties, Action<LogEntry>? change = null)
    {
        await using var pipeline = LogPipeline.Open(Options(server, metadataProperties));
        pipeline.Append(Encode(0, change));
        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        Resends.AssertNone(server);
    }

    private LogPersistOptions Options(TestServer server, List<string> metadataProperties) => new()
    {
        Directory = _root.Path,
        ServiceName = "orders",
        Instance = "orders-0",
        LokiUrl = server.BaseAddress.ToString(),
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 64 << 20,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        MetadataProperties = metadataProperties,
        Environment = _ => null,
    };

    private static byte[] Encode(int index, Action<LogEntry>? change = null)
    {
        var entry = new LogEntry
        {
            Category = "orders",
            Template = "Order {Index}",
            TimestampNs = LogEntry.NowNs(TimeProvider.System) + index,
        };
        entry.Properties.Add(new("user_id", "u-17"));
        entry.Properties.Add(new("Count", 3));
        entry.Properties.Add(new("Shape", new Dictionary<string, object?> { ["sides"] = 1 }));
        entry.Properties.Add(new("http.method", "GET"));
        entry.Properties.Add(new("Other", "kept"));
        entry.Properties.Add(new("Index", index));
        change?.Invoke(entry);
        return new EntryEncoder(4 << 20).Encode(entry).ToArray();
    }

    /// <summary>Every push reaches the server, and every answer is lost on the way back.</summary>
    private sealed class AnswerLost : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath.EndsWith("/push", StringComparison.Ordinal))
            {
                throw new HttpRequestException("the connection was reset before the answer arrived");
            }

            return new HttpResponseMessage(response.StatusCode) { Content = new ByteArrayContent(await response.Content.ReadAsByteArrayAsync(cancellationToken)) };
        }
    }
}
