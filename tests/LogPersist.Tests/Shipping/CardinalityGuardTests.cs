using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Shipping;

/// <summary>The label cardinality caps: a property with endless values never becomes endless streams.</summary>
public sealed class CardinalityGuardTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Values_over_the_cap_become_the_overflow_value_until_the_window_ends()
    {
        var time = new FakeTimeProvider();
        var overflowed = new List<string>();
        var resolver = new StreamResolver(Options(time, ["user"], maxValues: 3), overflowed.Add);

        var users = Enumerable.Range(0, 6).Select(i => Resolve(resolver, ("user", $"u{i}"))).ToList();
        Assert.Equal(["u0", "u1", "u2", CardinalityGuard.Overflow, CardinalityGuard.Overflow, CardinalityGuard.Overflow], users);
        Assert.Equal(3, overflowed.Count(l => l == "user"));

        // A value admitted before stays admitted; a new window admits new ones.
        Assert.Equal("u1", Resolve(resolver, ("user", "u1")));
        time.Advance(CardinalityGuard.Window);
        Assert.Equal("u5", Resolve(resolver, ("user", "u5")));
    }

    [Fact]
    public void An_entry_that_would_open_a_stream_over_the_cap_goes_to_the_overflow_stream()
    {
        var overflowed = new List<string>();
        var resolver = new StreamResolver(Options(new FakeTimeProvider(), ["a", "b"], maxValues: 100, maxStreams: 4), overflowed.Add);

        var streams = new HashSet<string>();
        for (var a = 0; a < 3; a++)
        {
            for (var b = 0; b < 3; b++)
            {
                streams.Add(resolver.Resolve(View(("a", $"a{a}"), ("b", $"b{b}"))).Text);
            }
        }

        // Four streams of real values, and one where both labels overflow.
        Assert.Equal(5, streams.Count);
        Assert.Single(streams, s => s.Contains(CardinalityGuard.Overflow, StringComparison.Ordinal));
        Assert.Equal(5, overflowed.Count(l => l == CardinalityGuard.StreamsLabel));
    }

    [Fact]
    public async Task A_property_with_ten_thousand_values_stays_under_Lokis_stream_limit_and_every_entry_arrives()
    {
        // The test server refuses new streams past 150 for the tenant, as Loki does past its limit.
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { MaxStreamsPerTenant = 150 });
        var events = new List<string>();
        using var listener = new EventCollector(events);
        await using var pipeline = LogPipeline.Open(new LogPersistOptions
        {
            Directory = _root.Path,
            ServiceName = "orders",
            Instance = "orders-0",
            LokiUrl = server.BaseAddress.ToString(),
            LabelProperties = ["user_id"],
            BatchMaxWait = TimeSpan.FromMilliseconds(20),
            StructuredMetadata = StructuredMetadataMode.Off,
            Environment = _ => null,
        });
        var encoder = new EntryEncoder();
        for (var i = 0; i < 10_000; i++)
        {
            var entry = new LogEntry { Category = "orders", Template = "Paid", TimestampNs = LogEntry.NowNs(TimeProvider.System) };
            entry.Properties.Add(new("user_id", $"user-{i}"));
            Assert.True(pipeline.Append(encoder.Encode(entry).ToArray()));
        }

        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(10_000, server.EntryCount);
        Assert.Equal(0, server.Requests.Sum(r => r.Refused));
        var streams = server.Entries.Select(e => e.Labels).Distinct().ToList();
        Assert.Equal(CardinalityGuard.DefaultMaxValues + 1, streams.Count);
        var overflow = server.Entries.Where(e => e.LabelMap["user_id"] == CardinalityGuard.Overflow).ToList();
        Assert.Equal(10_000 - CardinalityGuard.DefaultMaxValues, overflow.Count);

        // The real value is in the line; the overflow is counted, reported once and shown by the health check.
        Assert.Contains("user-9999", overflow.Select(e => JsonDocument.Parse(e.Line).RootElement.GetProperty("user_id").GetString()));
        Assert.Equal(["user_id"], pipeline.Shipper!.Overflow.Recent());
        var health = PipelineHealth.Evaluate(pipeline, new HealthThresholds());
        Assert.Equal(HealthState.Degraded, health.State);
        Assert.Contains("user_id", health.Description, StringComparison.Ordinal);
        lock (events)
        {
            Assert.Single(events, e => e.StartsWith(pipeline.Directory, StringComparison.Ordinal) && e.EndsWith("| user_id", StringComparison.Ordinal));
        }
    }

    private static ShipperOptions Options(TimeProvider time, List<string> labelProperties, int maxValues = 100, int maxStreams = 500) => new()
    {
        Loki = new LogPersist.Loki.LokiClientOptions { Endpoint = new Uri("http://loki.invalid/") },
        DetectedLabels = [new("service_name", "orders")],
        LabelProperties = labelProperties,
        MaxLabelValues = maxValues,
        MaxStreams = maxStreams,
        TimeProvider = time,
    };

    private static string Resolve(StreamResolver resolver, (string Name, string Value) property) =>
        resolver.Resolve(View(property)).Labels.Single(l => l.Key == property.Name).Value;

    private static EntryView View(params (string Name, string Value)[] properties)
    {
        var entry = new LogEntry { Category = "t", Template = "x" };
        foreach (var (name, value) in properties)
        {
            entry.Properties.Add(new(name, value));
        }

        var bytes = new EntryEncoder().Encode(entry).ToArray();
        Assert.True(EntryView.TryDecode(bytes, out var view));
        return view;
    }
}
