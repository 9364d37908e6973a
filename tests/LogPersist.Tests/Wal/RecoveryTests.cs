using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class RecoveryTests
{
    [Fact]
    public async Task Reopening_counts_the_backlog_appends_to_a_new_segment_and_ships_old_then_new()
    {
        using var dir = new TempDirectory();
        Wals.Fill(dir.Path, 200, segmentBytes: 8192);

        var segmentsBefore = Directory.GetFiles(dir.Path, "*.wal").Length;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            Assert.True(wal.Append(Wals.Payload(200, 100)));
            Assert.Equal(segmentsBefore + 1, wal.FirstLiveSegment);

            var report = await wal.Recovery.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(segmentsBefore, report.Segments);
            Assert.Equal(200, report.Records);
            Assert.Equal(0, report.DamagedRanges);

            using var reader = wal.CreateReader();
            var sequences = new List<long>();
            while (reader.TryRead(out var record))
            {
                Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence));
                sequences.Add(sequence);
            }

            Assert.Equal(Enumerable.Range(0, 201).Select(i => (long)i), sequences);
        }
    }

    [Fact]
    public async Task A_crash_without_an_end_record_leaves_a_readable_segment_and_no_damage()
    {
        // Simulate a killed writer: copy a live segment's bytes while the WAL is still open (no end record yet).
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 64 * 1024)))
        {
            for (var i = 0; i < 50; i++)
            {
                wal.Append(Wals.Payload(i, 100));
            }

            foreach (var file in Directory.GetFiles(dir.Path, "*.wal"))
            {
                File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
            }
        }

        using var reopened = WriteAheadLog.Open(Wals.Options(copy.Path, segmentBytes: 64 * 1024));
        var report = await reopened.Recovery.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(50, report.Records);
        Assert.Equal(0, report.DamagedRanges);
    }

    [Fact]
    public async Task Recovery_counts_damage_in_metrics_and_reports_its_place()
    {
        using var dir = new TempDirectory();
        Wals.Fill(dir.Path, 20, segmentBytes: 8192);

        // Flip one byte inside the fourth record's payload (records are 120 bytes from offset 64).
        var segment = Directory.GetFiles(dir.Path, "*.wal").Order().First();
        var bytes = File.ReadAllBytes(segment);
        const int damagedOffset = 64 + (3 * 120);
        bytes[damagedOffset + 40] ^= 0x5A;
        File.WriteAllBytes(segment, bytes);

        using var reopened = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));
        using var metrics = new MeterRecorder(reopened.Metrics.Meter);
        var report = await reopened.Recovery.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(19, report.Records);
        var damage = Assert.Single(report.Damage);
        Assert.Equal(new DamagedRange(1, damagedOffset, 120, DamageKind.Corrupt), damage);
        Assert.Equal(1, reopened.Metrics.DamagedRanges);
    }
}
