using LogPersist.Loki;
using LogPersist.LokiTestServer;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogEntry = LogPersist.Entries.LogEntry;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

/// <summary>
/// The answers of LOKI.md, end to end against the test server speaking each dialect: what Loki stored is
/// acknowledged once, what it refused is counted under its reason exactly, and nothing is resent.
/// </summary>
public sealed class LokiDialectTests : IDisposable
{
    private const long Second = 1_000_000_000L;
    private readonly TempDirectory _dir = new();

    public static TheoryData<string> Dialects => new() { "2.7", "2.9", "3.0", "3.6", "3.7" };

    public void Dispose() => _dir.Dispose();

    private static LokiDialect Dialect(string name) => LokiDialect.Of(int.Parse(name[..1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(name[2..], System.Globalization.CultureInfo.InvariantCulture));

    private WriteAheadLog OpenWal() => WriteAheadLog.Open(Wals.Options(_dir.Path));

    private static async Task<Shipper> ShipAsync(WriteAheadLog wal, TestServer server, Action<ShipperOptions>? configure = null)
    {
        var options = Options(server.BaseAddress);
        options.MaxEntryAge = null;
        configure?.Invoke(options);
        var shipper = new Shipper(wal, options);
        shipper.Start();
        Assert.True(await shipper.FlushAsync(Patience));
        return shipper;
    }

    private static void AssertStored(TestServer server, IEnumerable<long> sequences)
    {
        Assert.Equal(sequences.Order(), Sequences(server.Entries).Order());
        Resends.AssertNone(server);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Entries_too_old_and_too_new_are_counted_exactly_and_the_rest_stored_once(string dialect)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = Dialect(dialect) });
        using var wal = OpenWal();
        var now = LogEntry.NowNs(TimeProvider.System);
        // 30 entries: every fifth 8 days old, every seventh (not fifth) an hour in the future, the rest now.
        Log(wal, 0, 30, s => Entry(s, timestampNs: s % 5 == 0 ? now - (8 * 24 * 3600 * Second) + s : s % 7 == 0 ? now + (3600 * Second) + s : now - (60 * Second) + s));

        // Loki 2.7 answers only its last validation error, so there the shipper's own age limit keeps the old
        // entries from being sent (and counts them as too old); 2.9 and later list every refusal.
        await using var shipper = await ShipAsync(wal, server, o => o.MaxEntryAge = dialect == "2.7" ? TimeSpan.FromDays(7) : null);

        Assert.Equal(6, shipper.Metrics.Refused(RefusalReason.TooOld));
        Assert.Equal(4, shipper.Metrics.Refused(RefusalReason.TooNew));
        AssertStored(server, Enumerable.Range(0, 30).Where(s => s % 5 != 0 && s % 7 != 0).Select(s => (long)s));
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Lines_longer_than_the_servers_limit_are_counted_exactly(string dialect)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = Dialect(dialect), MaxLineBytes = 300 });
        using var wal = OpenWal();
        Log(wal, 0, 20, s =>
        {
            var entry = Entry(s);
            entry.Properties.Add(new("Pad", new string('x', s % 4 == 0 ? 400 : 10)));
            return entry;
        });

        await using var shipper = await ShipAsync(wal, server);

        Assert.Equal(5, shipper.Metrics.Refused(RefusalReason.LineTooLong));
        AssertStored(server, Enumerable.Range(0, 20).Where(s => s % 4 != 0).Select(s => (long)s));
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Entries_too_far_behind_their_stream_are_counted_beyond_the_ten_listed(string dialect)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = Dialect(dialect) });
        using var wal = OpenWal();
        var now = LogEntry.NowNs(TimeProvider.System);
        Log(wal, 0, 1, s => Entry(s, timestampNs: now));
        Action<ShipperOptions> options = o => o.BatchMaxBytes = 1 << 20;
        await using (await ShipAsync(wal, server, options))
        {
        }

        // 25 entries two hours behind what the stream already holds: Loki lists ten, and says 25.
        Log(wal, 1, 25, s => Entry(s, timestampNs: now - (2 * 3600 * Second) + s));
        await using var shipper = await ShipAsync(wal, server, options);

        Assert.Equal(25, shipper.Metrics.Refused(RefusalReason.TooFarBehind));
        Assert.Equal(0, shipper.Metrics.RefusedTotal() - 25);
        AssertStored(server, [0]);
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task A_stream_over_the_label_limit_is_refused_whole_and_the_others_are_stored(string dialect)
    {
        var loki = Dialect(dialect);
        // Two labels per stream pass (3.2 and later do not count service_name), a third does not.
        var countsServiceName = loki.Major < 3 || loki.Minor < 2;
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = loki, MaxLabelNamesPerSeries = countsServiceName ? 2 : 1 });
        using var wal = OpenWal();
        Log(wal, 0, 40, s =>
        {
            var entry = Entry(s);
            if (s % 2 == 1)
            {
                entry.Properties.Add(new("Shard", "odd"));
            }

            return entry;
        });

        await using var shipper = await ShipAsync(wal, server, o => o.LabelProperties = ["Shard"]);

        Assert.Equal(20, shipper.Metrics.Refused(RefusalReason.StreamLabels));
        AssertStored(server, Enumerable.Range(0, 40).Where(s => s % 2 == 0).Select(s => (long)s));
        Assert.Contains(shipper.RejectedStreams, r => r.Labels.Contains("Shard=\"odd\"", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task A_label_value_Lokis_parser_refuses_is_cleaned_before_it_is_sent(string dialect)
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = Dialect(dialect) });
        using var wal = OpenWal();
        Log(wal, 0, 20, s =>
        {
            var entry = Entry(s);
            entry.Properties.Add(new("Shard", s % 2 == 0 ? "fine" : "\uFFFDbroken"));
            return entry;
        });

        await using var shipper = await ShipAsync(wal, server, o => o.LabelProperties = ["Shard"]);

        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        AssertStored(server, Enumerable.Range(0, 20).Select(s => (long)s));
    }

    [Fact]
    public async Task A_blocked_tenant_stores_nothing_until_the_block_ends_then_everything_once()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { BlockIngestionUntil = DateTimeOffset.UtcNow.AddMilliseconds(300) });
        using var wal = OpenWal();
        Log(wal, 0, 50);

        await using var shipper = await ShipAsync(wal, server);

        Assert.Equal(260, server.Requests[0].Status);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        AssertStored(server, Enumerable.Range(0, 50).Select(s => (long)s));
        Assert.Null(shipper.Blocked);
    }

    [Fact]
    public async Task A_batch_larger_than_the_tenants_burst_is_split_until_it_passes()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { IngestionRateBytesPerSecond = 64 * 1024, IngestionBurstBytes = 4 * 1024 });
        using var wal = OpenWal();
        Log(wal, 0, 200);

        await using var shipper = await ShipAsync(wal, server);

        Assert.Contains(server.Requests, r => r.Status == 429);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        AssertStored(server, Enumerable.Range(0, 200).Select(s => (long)s));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Requests_over_the_servers_size_limits_are_split(bool compressedLimit)
    {
        var limits = compressedLimit ? new LokiTestServerOptions { MaxBodyBytes = 1024 } : new LokiTestServerOptions { MaxDecompressedBytes = 6 * 1024 };
        await using var server = await TestServer.StartAsync(limits);
        using var wal = OpenWal();
        Log(wal, 0, 300);

        await using var shipper = await ShipAsync(wal, server);

        Assert.Contains(server.Requests, r => r.Status == (compressedLimit ? 413 : 500));
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        AssertStored(server, Enumerable.Range(0, 300).Select(s => (long)s));
    }

    [Fact]
    public async Task Without_the_tenant_a_multi_tenant_Loki_requires_nothing_is_acknowledged_or_dropped()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { RequireTenant = true });
        using var wal = OpenWal();
        var before = wal.Checkpoint;
        Log(wal, 0, 10);
        var options = Options(server.BaseAddress);
        await using var shipper = new Shipper(wal, options);
        shipper.Start();

        await WaitForAsync(() => server.Requests.Count >= 3, "three refused pushes");

        Assert.All(server.Requests, r => Assert.Equal(401, r.Status));
        Assert.Equal(before, shipper.Acknowledged);
        Assert.Equal(0, shipper.Metrics.RefusedTotal());
        Assert.Equal(401, shipper.Refusals.LastRefusedStatus);
        Assert.NotNull(shipper.Refusals.RefusingSince);
        Resends.AssertNone(server);
    }

    [Fact]
    public async Task Buildinfo_behind_a_gateway_prefix_turns_metadata_on_for_Loki_3()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { PathPrefix = "/loki", Version = "3.5.0", BuildInfoFailures = 2 });
        new StreamDescription { Labels = LabelSet.Create([new("service_name", "tests"), new("pod", "tests-0")]) }.Save(new System.IO.Abstractions.FileSystem(), _dir.Path);
        using var wal = OpenWal();
        Log(wal, 0, 5, s => Entry(s, traceId: "0af7651916cd43dd8448eb211c80319c"));
        var options = Options(new Uri(server.BaseAddress, "loki/loki/api/v1/push"));
        options.StructuredMetadata = StructuredMetadataMode.Auto;
        await using var shipper = new Shipper(wal, options);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.True(shipper.SendsStructuredMetadata);
        Assert.All(server.Entries, e => Assert.Contains(e.StructuredMetadata, m => m.Key == "trace_id"));
        Resends.AssertNone(server);
    }
}
