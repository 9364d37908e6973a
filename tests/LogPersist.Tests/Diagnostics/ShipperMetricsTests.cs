using LogPersist.Entries;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Diagnostics;

public sealed class ShipperMetricsTests : IDisposable
{
    private static readonly Uri Loki = new("http://127.0.0.1:1");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string TooFarBehind(int refused, int sent) =>
        string.Concat(Enumerable.Repeat("entry with timestamp 2026-01-01 00:00:00 +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2026-01-01T00:00:00Z, oldest acceptable timestamp is: 2026-01-01T01:00:00Z',\n", refused))
        + $"user 'fake', total ignored: {refused} out of {sent} for stream: {{pod=\"tests-0\", service_name=\"tests\"}}";

    [Fact]
    public async Task Accepted_entries_and_bytes_requests_by_status_retries_refusals_and_skipped_records_are_published()
    {
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        var handler = new ScriptedHandler(
            ScriptedHandler.Status(503),
            ScriptedHandler.Status(204),
            ScriptedHandler.Status(400, body: TooFarBehind(2, 5)),
            ScriptedHandler.Status(204));
        await using var shipper = new Shipper(wal, Options(Loki), handler);
        using var metrics = new MeterRecorder(shipper.Metrics.Meter);
        Log(wal, 0, 5);
        shipper.Start();
        Assert.True(await shipper.FlushAsync(Patience));

        Assert.Equal(5, metrics.Observe("logpersist.ship.entry.accepted"));
        Assert.True(metrics.Observe("logpersist.ship.entry.accepted.size") > 5 * 10, "line bytes of five entries");
        Assert.Equal(1, metrics.Sum("logpersist.ship.request.sent", "status_class=5xx"));
        Assert.Equal(1, metrics.Sum("logpersist.ship.request.sent", "status_class=2xx"));
        Assert.Equal(1, metrics.Observe("logpersist.ship.request.retried"));

        Log(wal, 5, 5);
        await WaitForAsync(() => metrics.Sum("logpersist.ship.entry.refused", "reason=too_far_behind") == 2, "the refusal of two entries");
        Assert.Equal(1, metrics.Sum("logpersist.ship.request.sent", "status_class=4xx"));
        Assert.True(await shipper.FlushAsync(Patience));
        Assert.True(metrics.Observe("logpersist.ship.entry.accepted") >= 8, "the three entries Loki kept count as accepted");
        await shipper.StopAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task Records_that_are_not_entries_are_counted_as_skipped()
    {
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path));
        await using var shipper = new Shipper(wal, Options(Loki), new ScriptedHandler(ScriptedHandler.Status(204)));
        using var metrics = new MeterRecorder(shipper.Metrics.Meter);
        Log(wal, 0, 2);
        // Of this format (1), but cut short: malformed, not of a later format (those stop shipping instead).
        Assert.True(wal.Append([1, 1, 2, 3]));
        shipper.Start();

        Assert.True(await shipper.FlushAsync(Patience));
        Assert.Equal(1, metrics.Observe("logpersist.ship.record.skipped"));
        await shipper.StopAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task Ship_lag_grows_with_the_clock_while_Loki_is_unreachable()
    {
        var time = new ManualTime();
        using var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, time: time));
        var options = Options(Loki);
        options.TimeProvider = time;
        options.Loki.TimeProvider = time;
        var handler = new ScriptedHandler(ScriptedHandler.Refused());
        await using var shipper = new Shipper(wal, options, handler);
        using var metrics = new MeterRecorder(shipper.Metrics.Meter);
        Log(wal, 0, 1, s => Entry(s, LogEntry.NowNs(time)));
        shipper.Start();
        var flush = shipper.FlushAsync(TimeSpan.FromSeconds(1));
        await handler.WaitForCallsAsync(2);
        Assert.False(await flush);

        time.Advance(TimeSpan.FromSeconds(1));
        var early = metrics.ObserveGauge("logpersist.ship.lag");
        time.Advance(TimeSpan.FromMinutes(10));
        var late = metrics.ObserveGauge("logpersist.ship.lag");

        Assert.InRange(early, 1, 2);
        Assert.InRange(late, 601, 602);
        Assert.True(metrics.Sum("logpersist.ship.request.sent", "status_class=transport") >= 1);
        Assert.True(metrics.Observe("logpersist.ship.request.retried") >= 1);
        Assert.Equal(0, metrics.Observe("logpersist.ship.entry.accepted"));
        await shipper.StopAsync(TimeSpan.Zero);
    }
}
