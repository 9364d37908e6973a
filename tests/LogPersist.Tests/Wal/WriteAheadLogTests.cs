using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class WriteAheadLogTests
{
    [Fact]
    public void Records_appended_across_segment_rolls_are_read_back_in_order()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            for (var i = 0; i < 1000; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i)));
            }
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), Wals.DataSequences(records));
        Assert.All(records, r => Assert.True(Wals.IsIntact(r.Payload, out _)));
        Assert.Equal(0, reader.DamagedRanges);
    }

    [Fact]
    public void A_WAL_opened_only_to_ship_creates_no_segment_deletes_what_it_acknowledged_and_removes_the_rest_once_drained()
    {
        using var dir = new TempDirectory();
        Wals.Fill(dir.Path, 300, segmentBytes: 8192);
        var written = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Order().ToArray();
        var options = Wals.Options(dir.Path, segmentBytes: 8192);
        using var wal = WriteAheadLog.Open(new WalOptions
        {
            Directory = options.Directory,
            SegmentBytes = options.SegmentBytes,
            MaxDiskBytes = options.MaxDiskBytes,
            CreateSegmentOnOpen = false,
        });
        Assert.Equal(written, Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Order());

        using (var reader = wal.CreateReader())
        {
            var read = 0;
            while (read < 150 && reader.TryRead(out _))
            {
                read++;
            }

            Assert.True(wal.Acknowledge(reader.Position));
        }

        var left = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern);
        Assert.InRange(left.Length, 1, written.Length - 1);
        Assert.Equal(written[^left.Length..], left.Order());
    }

    [Fact]
    public void Closing_a_drained_WAL_deletes_its_segments_but_never_unshipped_records()
    {
        using var dir = new TempDirectory();
        Wals.Fill(dir.Path, 300, segmentBytes: 8192);
        var lazy = new WalOptions { Directory = dir.Path, SegmentBytes = 8192, MaxDiskBytes = 8192 * 1024, CreateSegmentOnOpen = false };

        var notDrained = WriteAheadLog.Open(lazy);
        Assert.False(notDrained.DisposeIfDrained());
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), Wals.DataSequences(Wals.ReadAll(dir.Path, out var check)));
        check.Dispose();

        var wal = WriteAheadLog.Open(lazy);
        using (var reader = wal.CreateReader())
        {
            while (reader.TryRead(out _))
            {
            }

            Assert.True(wal.Acknowledge(reader.Position));
        }

        Assert.True(wal.DisposeIfDrained());
        Assert.Empty(Directory.GetFiles(dir.Path, SegmentNames.SearchPattern));
    }

    [Fact]
    public void A_segment_that_is_not_a_file_or_too_short_is_unusable_and_told_apart_from_one_that_is_gone()
    {
        using var dir = new TempDirectory();
        var tooShort = dir.Combine(SegmentNames.FileName(1));
        File.WriteAllBytes(tooShort, new byte[10]);
        var notAFile = dir.Combine(SegmentNames.FileName(2));
        Directory.CreateDirectory(notAFile);

        Assert.Null(MappedSegment.TryOpenReadOnly(1, tooShort, out var shortFailure, out var shortUnusable));
        Assert.Null(shortFailure);
        Assert.NotNull(shortUnusable);
        Assert.Null(MappedSegment.TryOpenReadOnly(3, dir.Combine(SegmentNames.FileName(3)), out var goneFailure, out var goneUnusable));
        Assert.Null(goneFailure);
        Assert.Null(goneUnusable);

        // A directory under a segment's name was never written by a writer: unusable (damage), not an open failure to wait on.
        Assert.Null(MappedSegment.TryOpenReadOnly(2, notAFile, out var openFailure, out var unusable));
        Assert.Null(openFailure);
        Assert.NotNull(unusable);
    }

    [Fact]
    public void Reader_follows_records_appended_after_it_started()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192));
        using var reader = wal.CreateReader();
        Assert.False(reader.TryRead(out _));
        var seen = new List<long>();
        for (var i = 0; i < 300; i++)
        {
            wal.Append(Wals.Payload(i));
            Assert.True(reader.TryRead(out var record));
            Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence));
            seen.Add(sequence);
            Assert.False(reader.TryRead(out _));
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), seen);
    }

    [Fact]
    public void Empty_and_oversized_records_are_refused_counted_and_marked_in_the_stream()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 8192)))
        {
            Assert.True(wal.Append(Wals.Payload(1, 100)));
            Assert.False(wal.Append([]));
            Assert.False(wal.Append(new byte[wal.MaxPayloadBytes + 1]));
            Assert.True(wal.Append(new byte[wal.MaxPayloadBytes]));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.Empty));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.TooLarge));
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        var gaps = records.Where(r => r.Kind == RecordKind.Gap).Select(r => GapMarker.TryRead(r.Payload, out var gap) ? gap : default).ToList();
        Assert.Contains(gaps, g => g.Reason == WalDropReason.Empty && g.Records == 1);
        Assert.Contains(gaps, g => g.Reason == WalDropReason.TooLarge && g.Records == 1 && g.Bytes == 8192 - 104 + 1);
        Assert.Equal(2, records.Count(r => r.Kind == RecordKind.Data));
    }
}
