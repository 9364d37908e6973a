using System.IO.Abstractions;
using LogPersist.Diagnostics;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class WalMetricsTests
{
    [Fact]
    public async Task Two_pipelines_in_one_process_publish_on_LogPersist_meters_told_apart_by_their_WAL_directory()
    {
        using var dir = new TempDirectory();
        await using var server = await LogPersist.LokiTestServer.LokiTestServer.StartAsync();
        using var first = WriteAheadLog.Open(Wals.Options(dir.Combine("a")));
        using var second = WriteAheadLog.Open(Wals.Options(dir.Combine("b")));
        await using var shipper = new LogPersist.Shipping.Shipper(first, Support.Shipping.Options(server.BaseAddress));

        static object? DirectoryOf(System.Diagnostics.Metrics.Meter meter) =>
            meter.Tags?.SingleOrDefault(t => t.Key == LogPersistMeter.DirectoryTag).Value;

        Assert.All([first.Metrics.Meter, second.Metrics.Meter, shipper.Metrics.Meter], m => Assert.Equal("LogPersist", m.Name));
        Assert.Equal(dir.Combine("a"), DirectoryOf(first.Metrics.Meter));
        Assert.Equal(dir.Combine("b"), DirectoryOf(second.Metrics.Meter));
        Assert.Equal(dir.Combine("a"), DirectoryOf(shipper.Metrics.Meter));
    }

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

        Assert.True(refused > 0, "the cap was reached");
        Assert.Equal(accepted, metrics.Observe("logpersist.wal.entry.written"));
        Assert.Equal(accepted * 100L, metrics.Observe("logpersist.wal.entry.written.size"));
        Assert.Equal(3 * segment, metrics.Observe("logpersist.wal.usage"));
        Assert.Equal(3 * segment, metrics.Observe("logpersist.wal.limit"));
        Assert.Equal(3, metrics.Observe("logpersist.wal.segment.count"));
        Assert.Equal(refused, metrics.Sum("logpersist.wal.entry.dropped", "reason=wal_full"));
        Assert.Equal(1, metrics.Sum("logpersist.wal.entry.dropped", "reason=too_large"));

        // The cap a reload sets is the one published.
        wal.ApplyLive(Wals.Options(dir.Path, segment, maxDiskBytes: 5 * segment, fullMode: WalFullMode.DropNewest));
        Assert.Equal(5 * segment, metrics.Observe("logpersist.wal.limit"));
    }

    [Fact]
    public void Damaged_ranges_found_while_recovering_are_counted_by_kind()
    {
        using var dir = new TempDirectory();
        Wals.Fill(dir.Path, 20, 8192);
        var file = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[SegmentHeader.Size64 + RecordFormat.HeaderSize + 3] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        using var metrics = new WalMetrics(new SegmentCatalog());
        using var recorder = new MeterRecorder(metrics.Meter);

        var report = Recovery.Scan(new FileSystem(), dir.Path, [1], WalPosition.Start, metrics);

        Assert.Equal(1, report.DamagedRanges);
        Assert.Equal(1, recorder.Sum("logpersist.wal.damage.skipped", "kind=corrupt"));
    }

    [Fact]
    public void Every_instrument_has_a_unit_a_description_and_a_lowercase_dotted_name_without_total()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path));
        using var shipper = new LogPersist.Shipping.Shipper(wal, Support.Shipping.Options(new Uri("http://127.0.0.1:1")));
        var instruments = new List<System.Diagnostics.Metrics.Instrument>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, wal.Metrics.Meter) || ReferenceEquals(instrument.Meter, shipper.Metrics.Meter))
                {
                    instruments.Add(instrument);
                }
            },
        };
        listener.Start();

        // The WAL's and the shipper's, label overflow and held streams included.
        Assert.Equal(17, instruments.Count);
        Assert.All(instruments, i =>
        {
            Assert.False(string.IsNullOrEmpty(i.Unit), i.Name + " has a unit");
            Assert.False(string.IsNullOrEmpty(i.Description), i.Name + " has a description");
            Assert.Matches("^logpersist(\\.[a-z][a-z_]*)+$", i.Name);
            Assert.DoesNotContain("total", i.Name, StringComparison.Ordinal);
            Assert.DoesNotContain("bytes", i.Name, StringComparison.Ordinal);
            Assert.DoesNotContain("seconds", i.Name, StringComparison.Ordinal);
        });
    }
}
