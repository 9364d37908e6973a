using System.Text.Json;
using LogPersist.LokiTestServer;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogEntry = LogPersist.Entries.LogEntry;
using LokiClientOptions = LogPersist.Loki.LokiClientOptions;
using RefusalReason = LogPersist.Loki.RefusalReason;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

public sealed class ShipperTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    // Nothing crashes here: the server must have received no entry twice, except what a test documents.
    private long _expectedResends;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        Resends.AssertExactly(_expectedResends, _server);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private WriteAheadLog OpenWal(long segmentBytes = 64 * 1024) => WriteAheadLog.Open(Wals.Options(_dir.Path, segmentBytes));

    private static void AssertEachOnce(IEnumerable<long> sequences, long from, long count)
    {
        var list = sequences.ToList();
        Assert.Equal(list.Count, list.Distinct().Count());
        Assert.Equal(Enumerable.Range((int)from, (int)count).Select(i => (long)i), list.Order());
    }

    [Fact]
    public async Task Entries_arrive_once_in_their_stream_with_their_timestamp_and_line()
    {
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        var start = LogEntry.NowNs(TimeProvider.System) - 1_000_000;
        Log(wal, 0, 500, s => Entry(s, timestampNs: start + s));
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        var stored = _server.Entries;
        AssertEachOnce(Sequences(stored), 0, 500);
        Assert.All(stored, e => Assert.Equal("{pod=\"tests-0\", service_name=\"tests\"}", e.Labels));
        var first = stored.Single(e => e.Line.EndsWith("\"Seq\":7}", StringComparison.Ordinal));
        Assert.Equal(start + 7, first.TimestampNs);
        using var json = JsonDocument.Parse(first.Line);
        Assert.Equal("seq 7", json.RootElement.GetProperty("msg").GetString());
        Assert.All(_server.Requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.Equal(500, shipper.Metrics.ShippedEntries);
    }

    [Fact]
    public async Task Json_gzip_bodies_carry_the_same_entries()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.Loki.Encoding = PushEncoding.Json;
        options.Loki.GzipJson = true;
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 200);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 200);
        Assert.All(_server.Requests, r => Assert.Equal(("application/json", "gzip"), (r.ContentType, r.ContentEncoding)));
    }

    [Fact]
    public async Task Checkpoint_follows_acknowledgements_and_shipped_segments_are_deleted()
    {
        using var wal = OpenWal(segmentBytes: 16 * 1024);
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        shipper.Start();
        Log(wal, 0, 3000);

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 3000);
        Assert.Equal(shipper.Acknowledged, wal.Checkpoint);
        Assert.True(wal.Checkpoint.Segment >= wal.FirstLiveSegment + 10, $"checkpoint {wal.Checkpoint} did not move across the segments");
        var left = Directory.GetFiles(_dir.Path, SegmentNames.SearchPattern).Length;
        Assert.InRange(left, 1, 2);
    }

    [Fact]
    public async Task A_checkpoint_that_cannot_be_saved_neither_stalls_a_flush_nor_keeps_shipped_segments()
    {
        var fileSystem = new FaultyFileSystem();
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, segmentBytes: 16 * 1024, fileSystem: fileSystem));
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        fileSystem.Fault = path => path.EndsWith(Checkpoint.TemporaryFileName, StringComparison.Ordinal) ? FaultyFileSystem.NoSpace(path) : null;
        shipper.Start();
        Log(wal, 0, 3000);

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 3000);
        Assert.Equal(WalPosition.Start, wal.Checkpoint);
        Assert.InRange(Directory.GetFiles(_dir.Path, SegmentNames.SearchPattern).Length, 1, 2);
    }

    [Fact]
    public async Task Retryable_answers_and_faults_are_retried_until_everything_arrives_once()
    {
        var release = new TaskCompletionSource();
        _server.Enqueue(
            ScriptedResponse.Status(429, retryAfter: TimeSpan.Zero),
            ScriptedResponse.Status(500, "internal"),
            ScriptedResponse.Reset(),
            ScriptedResponse.Status(503),
            ScriptedResponse.Status(502),
            ScriptedResponse.Stall(release.Task));
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 2000);
        shipper.Start();

        await WaitForAsync(() => _server.Requests.Count >= 6, "the scripted answers to be used");
        release.SetResult();
        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 2000);
        Assert.True(shipper.Metrics.Retries >= 5, $"{shipper.Metrics.Retries} retries");
    }

    [Fact]
    public async Task Partial_400_is_not_resent_refusals_are_counted_by_reason_and_marked_in_the_stream()
    {
        using var wal = OpenWal();
        var now = LogEntry.NowNs(TimeProvider.System);
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        shipper.Start();
        Log(wal, 0, 10, s => Entry(s, timestampNs: now + s));
        Assert.True(await shipper.FlushAsync(Patience));
        // Two hours behind the newest entry of the same stream: Loki refuses them as too far behind.
        Log(wal, 10, 5, s => Entry(s, timestampNs: now - TimeSpan.FromHours(2).Ticks * 100 + s));
        Log(wal, 15, 5, s => Entry(s, timestampNs: now + s));
        var requestsBefore = _server.Requests.Count;

        Assert.True(await shipper.FlushAsync(Patience));
        await WaitForAsync(() => _server.Entries.Any(e => e.Line.Contains("Loki refused", StringComparison.Ordinal)), "the refusal marker");

        var sequences = Sequences(_server.Entries);
        Assert.Equal(20 - 5, sequences.Count);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        Assert.DoesNotContain(sequences, s => s is >= 10 and < 15);
        Assert.Equal(5, shipper.Metrics.Refused(RefusalReason.TooFarBehind));
        Assert.Contains("too far behind", shipper.LastRefusalReason, StringComparison.Ordinal);
        var refusedRequests = _server.Requests.Skip(requestsBefore).Count(r => r.Status == 400);
        Assert.Equal(1, refusedRequests);
        var marker = _server.Entries.Single(e => e.Line.Contains("Loki refused", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(marker.Line);
        Assert.Equal(5, json.RootElement.GetProperty("refused_too_far_behind").GetInt32());
    }

    [Fact]
    public async Task Entries_older_than_the_maximum_age_are_counted_and_marked_not_sent()
    {
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        var old = LogEntry.NowNs(TimeProvider.System) - TimeSpan.FromDays(8).Ticks * 100;
        Log(wal, 0, 3, s => Entry(s, timestampNs: old + s));
        Log(wal, 3, 3);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        await WaitForAsync(() => _server.Entries.Any(e => e.Line.Contains("Loki refused", StringComparison.Ordinal)), "the refusal marker");

        AssertEachOnce(Sequences(_server.Entries), 3, 3);
        Assert.Equal(3, shipper.Metrics.Refused(RefusalReason.TooOld));
        Assert.DoesNotContain(_server.Requests, r => r.Status == 400);
    }

    [Theory]
    [InlineData(413)]
    [InlineData(500)]
    public async Task Request_too_large_is_split_and_every_part_arrives(int status)
    {
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(status == 413 ? new LokiTestServerOptions { MaxBodyBytes = 2048 } : new LokiTestServerOptions { MaxDecompressedBytes = 4096 });
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 400);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 400);
        Assert.Contains(_server.Requests, r => r.Status == status);
    }

    [Fact]
    public async Task Disallowed_structured_metadata_is_folded_into_lines_and_the_refused_entries_resent()
    {
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(new LokiTestServerOptions { AllowStructuredMetadata = false });
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.StructuredMetadata = StructuredMetadataMode.On;
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 20, s => Entry(s, traceId: s % 2 == 0 ? "0af7651916cd43dd8448eb211c80319c" : null));
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        AssertEachOnce(Sequences(_server.Entries), 0, 20);
        Assert.False(shipper.SendsStructuredMetadata);
        Assert.Equal(10, _server.Entries.Count(e => e.Line.Contains("\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"", StringComparison.Ordinal)));
        Assert.Equal(0, shipper.Metrics.Refused(RefusalReason.Other));

        // The batch is rebuilt and resent whole: its 10 entries without metadata, stored the first time, go again
        // identically; nothing else does.
        _expectedResends = 10;
    }

    [Fact]
    public async Task Structured_metadata_is_sent_in_its_field_when_on()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.StructuredMetadata = StructuredMetadataMode.On;
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 4, s => Entry(s, traceId: "0af7651916cd43dd8448eb211c80319c"));
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        Assert.All(_server.Entries, e =>
        {
            Assert.Contains(new KeyValuePair<string, string>("trace_id", "0af7651916cd43dd8448eb211c80319c"), e.StructuredMetadata);
            Assert.DoesNotContain("trace_id", e.Line, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Outage_keeps_entries_in_the_wal_and_everything_arrives_once_after_it()
    {
        using var wal = OpenWal(segmentBytes: 32 * 1024);
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        shipper.Start();
        Log(wal, 0, 500);
        Assert.True(await shipper.FlushAsync(Patience));

        await _server.StopAsync();
        Log(wal, 500, 5000);
        Assert.False(await shipper.FlushAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(Directory.GetFiles(_dir.Path, SegmentNames.SearchPattern).Length > 5, "the backlog should be on disk");
        // The backlog stays on disk: in memory there are only the batches in flight, however long the outage.
        Assert.InRange(shipper.PendingBatches, 1, Options(_server.BaseAddress).MaxInFlight);
        await _server.RestartAsync();

        Assert.True(await shipper.FlushAsync(Patience));
        AssertEachOnce(Sequences(_server.Entries), 0, 5500);
    }

    [Fact]
    public async Task Stop_returns_by_its_deadline_when_loki_is_unreachable_and_the_next_start_ships_the_rest()
    {
        await _server.StopAsync();
        using (var wal = OpenWal())
        {
            var shipper = new Shipper(wal, Options(_server.BaseAddress));
            shipper.Start();
            Log(wal, 0, 100);
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            Assert.False(await shipper.StopAsync(TimeSpan.FromMilliseconds(300)));
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"stop took {stopwatch.Elapsed}");
            await shipper.DisposeAsync();
        }

        await _server.RestartAsync();
        using (var wal = OpenWal())
        {
            await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
            shipper.Start();
            Assert.True(await shipper.FlushAsync(Patience));
        }

        AssertEachOnce(Sequences(_server.Entries), 0, 100);
    }

    [Fact]
    public async Task Gap_markers_from_the_wal_become_entries_in_the_stream()
    {
        using (var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, 4096, maxDiskBytes: 4 * 4096)))
        {
            Log(wal, 0, 400);
        }

        using (var wal = OpenWal(4096))
        {
            await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
            shipper.Start();
            Assert.True(await shipper.FlushAsync(Patience));
        }

        var marker = _server.Entries.First(e => e.Line.Contains("LogPersist dropped", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(marker.Line);
        Assert.Equal("warn", json.RootElement.GetProperty("level").GetString());
        Assert.Equal("oldest_evicted", json.RootElement.GetProperty("reason").GetString());
        Assert.True(json.RootElement.GetProperty("dropped_entries").GetInt64() > 0);
    }

    [Fact]
    public async Task Tenant_and_a_rotated_token_file_are_sent_and_no_credential_reaches_diagnostics()
    {
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(new LokiTestServerOptions { RequireTenant = true, RequiredAuthorization = "Bearer fresh-secret-2" });
        var tokenFile = Path.Combine(_dir.Path, "token");
        await File.WriteAllTextAsync(tokenFile, "stale-secret-1\n");
        var events = new List<string>();
        using var listener = new EventCollector(events);
        using var wal = WriteAheadLog.Open(Wals.Options(Path.Combine(_dir.Path, "wal")));
        var options = Options(_server.BaseAddress);
        options.Loki.Tenant = "team-a";
        options.Loki.BearerTokenFile = tokenFile;
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 10);
        shipper.Start();

        await WaitForAsync(() => _server.Requests.Count(r => r.Status == 401) >= 2, "refusals of the stale token");
        Assert.Equal(0, _server.EntryCount);
        Assert.Contains("401", shipper.LastError, StringComparison.Ordinal);
        await File.WriteAllTextAsync(tokenFile, "fresh-secret-2\n");
        File.SetLastWriteTimeUtc(tokenFile, DateTime.UtcNow.AddSeconds(5));

        Assert.True(await shipper.FlushAsync(Patience));
        AssertEachOnce(Sequences(_server.Entries), 0, 10);
        Assert.All(_server.Entries, e => Assert.Equal("team-a", e.Tenant));
        string[] seen;
        lock (events)
        {
            // Other tests' events keep arriving; look at a snapshot.
            seen = [.. events];
        }

        Assert.DoesNotContain(seen, e => e.Contains("secret", StringComparison.Ordinal));
        Assert.DoesNotContain("secret", shipper.LastError, StringComparison.Ordinal);
        Assert.Contains(seen, e => e.Contains("401", StringComparison.Ordinal));
        foreach (var segment in Directory.GetFiles(Path.Combine(_dir.Path, "wal"), SegmentNames.SearchPattern))
        {
            Assert.DoesNotContain("secret", System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(segment)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Level_and_allow_listed_properties_become_labels_and_nothing_else_does()
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.Labels = new Dictionary<string, string?> { ["env"] = "prod", ["pod"] = null };
        options.LevelLabel = true;
        options.LabelProperties = ["Tenant"];
        await using var shipper = new Shipper(wal, options);
        Log(wal, 0, 6, s =>
        {
            var entry = Entry(s);
            entry.Level = s % 2 == 0 ? EntryLevel.Information : EntryLevel.Error;
            entry.Properties.Add(new("Tenant", s < 3 ? "a" : "b"));
            entry.Properties.Add(new("UserId", s));
            return entry;
        });
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        var streams = _server.Entries.Select(e => e.Labels).Distinct().Order().ToList();
        Assert.Equal(
            [
                "{Tenant=\"a\", env=\"prod\", level=\"error\", service_name=\"tests\"}",
                "{Tenant=\"a\", env=\"prod\", level=\"info\", service_name=\"tests\"}",
                "{Tenant=\"b\", env=\"prod\", level=\"error\", service_name=\"tests\"}",
                "{Tenant=\"b\", env=\"prod\", level=\"info\", service_name=\"tests\"}",
            ],
            streams);
    }

    [Theory]
    [InlineData(OversizedLineMode.Truncate, 1)]
    [InlineData(OversizedLineMode.Split, 3)]
    public async Task Lines_over_the_maximum_are_truncated_visibly_or_split(object mode, int expectedEntries)
    {
        using var wal = OpenWal();
        var options = Options(_server.BaseAddress);
        options.MaxLineBytes = 1024;
        options.OversizedLines = (OversizedLineMode)mode;
        await using var shipper = new Shipper(wal, options);
        var encoder = new LogPersist.Entries.EntryEncoder();
        Assert.True(wal.Append(encoder.Encode(new LogEntry { TimestampNs = LogEntry.NowNs(TimeProvider.System), Category = "c", Message = new string('x', 1000) + new string('é', 1000) })));
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));

        var stored = _server.Entries;
        Assert.Equal(expectedEntries, stored.Count);
        Assert.All(stored, e => Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(e.Line), 1, 1024));
        Assert.DoesNotContain(stored, e => e.Line.Contains('\ufffd', StringComparison.Ordinal));
        if ((OversizedLineMode)mode == OversizedLineMode.Truncate)
        {
            Assert.Matches(@"…\[truncated \d+ bytes\]$", stored[0].Line);
        }
        else
        {
            Assert.Equal(stored.Select(e => e.TimestampNs).Order().ToList(), stored.Select(e => e.TimestampNs).Distinct().Order().ToList());
            Assert.StartsWith("{\"level\"", stored.OrderBy(e => e.TimestampNs).First().Line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Undecodable_records_are_skipped_counted_and_marked_and_shipping_goes_on()
    {
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        Log(wal, 0, 5);
        // Of this format (1), but cut short: malformed, not of a later format (those stop shipping instead).
        Assert.True(wal.Append([1, 1, 2, 3]));
        Log(wal, 5, 5);
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        await WaitForAsync(() => _server.Entries.Any(e => e.Line.Contains("not a readable entry", StringComparison.Ordinal)), "the marker");

        AssertEachOnce(Sequences(_server.Entries), 0, 10);
        Assert.Equal(1, shipper.Metrics.Undecodable);
    }

    [Fact]
    public async Task Metrics_report_requests_by_status_class_refusals_by_reason_and_the_lag_of_unshipped_entries()
    {
        using var wal = OpenWal();
        await using var shipper = new Shipper(wal, Options(_server.BaseAddress));
        using var metrics = new MeterRecorder(shipper.Metrics.Meter);
        var tenSecondsAgo = LogEntry.NowNs(TimeProvider.System) - TimeSpan.FromSeconds(10).Ticks * 100;
        _server.Enqueue(ScriptedResponse.Status(503));
        await _server.StopAsync();
        shipper.Start();
        Log(wal, 0, 10, s => Entry(s, timestampNs: tenSecondsAgo + s));

        await WaitForAsync(() => shipper.Metrics.Retries > 0, "a retry");
        Assert.True(metrics.ObserveGauge("logpersist.ship.lag") >= 10, "the lag counts from the oldest unshipped entry");
        await _server.RestartAsync();
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.Equal(0, metrics.ObserveGauge("logpersist.ship.lag"));
        Assert.True(metrics.Sum("logpersist.ship.request.sent", "status_class=transport") > 0);
        Assert.Equal(1, metrics.Sum("logpersist.ship.request.sent", "status_class=5xx"));
        Assert.True(metrics.Sum("logpersist.ship.request.sent", "status_class=2xx") > 0);
        Assert.Equal(10, metrics.Observe("logpersist.ship.entry.accepted"));
    }
}
