using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Diagnostics;

public sealed class WalMetricsTests
{
    [Fact]
    public void Appends_disk_usage_segments_and_drops_are_published_on_the_LogPersist_meter()
    {
        using var dir = new TempDirectory();
        const long segment = 8192;
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segment, maxDiskBytes: 3 * segment, fullMode: WalFullMode.DropNewest));
        using var metrics = new MeterRecorder(wal.Metrics.Meter);
        Assert.Equal("LogPersist", wal.Metrics.Meter.Name);

        var accepted = 0;
        var refused = 0;
        for (var i = 0; i < 400; i++)
        {
            if (wal.Append(Wals.Payload(i, 100)))
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }

        wal.Append(new byte[wal.MaxPayloadBytes + 1]);

        Assert.Equal(accepted, metrics.Observe("logpersist.wal.records"));
        Assert.Equal(accepted * 100L, metrics.Observe("logpersist.wal.bytes"));
        Assert.Equal(3 * segment, metrics.Observe("logpersist.wal.disk_usage"));
        Assert.Equal(3, metrics.Observe("logpersist.wal.segments"));
        Assert.Equal(refused, metrics.Sum("logpersist.wal.dropped", "reason=wal_full"));
        Assert.Equal(1, metrics.Sum("logpersist.wal.dropped", "reason=too_large"));
    }
}
