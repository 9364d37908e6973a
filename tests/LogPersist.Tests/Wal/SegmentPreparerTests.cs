using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// The segment after the active one is prepared in the background once the active one is half full
/// (created, header written and synced in the syncing modes, mapped, first pages faulted in), so the
/// appender that rolls only renames it into place.
/// </summary>
public sealed class SegmentPreparerTests
{
    private const long SegmentBytes = 1 << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(WalDurability.PageCache)]
    [InlineData(WalDurability.Interval)]
    public void The_roll_takes_the_segment_prepared_in_the_background_and_every_record_reads_back(WalDurability durability)
    {
        using var dir = new TempDirectory();
        long appended = 0;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, SegmentBytes, durability: durability)))
        {
            for (var segment = 1; segment <= 3; segment++)
            {
                var active = wal.AppendPosition.Segment;
                AppendUntil(wal, ref appended, () => wal.AppendPosition.Offset > (SegmentBytes * 3 / 4));
                Assert.True(SpinWait.SpinUntil(() => wal.PreparedSegment == active + 1, Patience), $"segment {active + 1} was not prepared");

                // The prepared file is not a segment yet: readers, recovery and the cap do not see it.
                Assert.Equal(segment, Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Length);
                AppendUntil(wal, ref appended, () => wal.AppendPosition.Segment != active);
            }

            Assert.Equal(3, wal.PreparedSegmentsTaken);
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(Enumerable.Range(0, (int)appended).Select(i => (long)i), Wals.DataSequences(records));
        Assert.Empty(Directory.GetFiles(dir.Path, "*" + TemporaryFile.Suffix));
    }

    [Fact]
    public void A_prepared_segment_that_was_never_needed_is_deleted_when_the_wal_closes()
    {
        using var dir = new TempDirectory();
        long appended = 0;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, SegmentBytes)))
        {
            AppendUntil(wal, ref appended, () => wal.AppendPosition.Offset > (SegmentBytes * 3 / 4));
            Assert.True(SpinWait.SpinUntil(() => wal.PreparedSegment > 0, Patience));
            Assert.Single(Directory.GetFiles(dir.Path, "*" + TemporaryFile.Suffix));
        }

        Assert.Empty(Directory.GetFiles(dir.Path, "*" + TemporaryFile.Suffix));
        Assert.Single(Directory.GetFiles(dir.Path, SegmentNames.SearchPattern));
    }

    [Fact]
    public void No_segment_is_prepared_when_the_cap_has_no_room_for_it()
    {
        using var dir = new TempDirectory();
        long appended = 0;
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, SegmentBytes, maxDiskBytes: 2 * SegmentBytes));
        AppendUntil(wal, ref appended, () => wal.AppendPosition.Offset > (SegmentBytes * 3 / 4));
        Assert.True(SpinWait.SpinUntil(() => wal.PreparedSegment == 2, Patience), "with room for it, segment 2 is prepared");
        AppendUntil(wal, ref appended, () => wal.AppendPosition.Segment == 2 && wal.AppendPosition.Offset > (SegmentBytes * 3 / 4));

        // Two segments fill the cap: the third would be made at the roll, after the oldest is evicted. A
        // preparation is registered by the append that asks for it, so none is pending once the appends returned.
        Assert.Equal(-1, wal.PendingSegment);
        Assert.Equal(1, wal.PreparedSegmentsTaken);
        Assert.Empty(Directory.GetFiles(dir.Path, "*" + TemporaryFile.Suffix));
    }

    [Fact]
    public void Faulting_pages_in_one_by_one_leaves_the_header_and_every_record_as_they_were()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, SegmentBytes)))
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i, 1000)));
            }
        }

        var path = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Single();
        var before = File.ReadAllBytes(path);
        using (var map = MappedSegment.OpenWritable(1, path))
        {
            SegmentPreparer.Touch(map, SegmentBytes);
        }

        Assert.True(SegmentHeader.TryRead(before, out _));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    private static void AppendUntil(WriteAheadLog wal, ref long appended, Func<bool> done)
    {
        while (!done())
        {
            Assert.True(wal.Append(Wals.Payload(appended, 1000)));
            appended++;
        }
    }
}
