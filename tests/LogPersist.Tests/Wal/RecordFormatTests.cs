using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// Framing of records, segment headers and gap markers: what is written reads back intact, a record
/// is valid only where it was written, and damage never reads as a record.
/// </summary>
public sealed class RecordFormatTests
{
    private const int SmallSegmentBytes = 16 * 1024;

    [Theory]
    [InlineData(1, 24)]
    [InlineData(7, 24)]
    [InlineData(8, 24)]
    [InlineData(9, 32)]
    [InlineData(16, 32)]
    [InlineData(17, 40)]
    [InlineData(4000, 4016)]
    public void Aligned_size_is_header_and_payload_rounded_up_to_eight_bytes(int payload, int expected) =>
        Assert.Equal(expected, RecordFormat.AlignedSize(payload));

    [Fact]
    public void Records_of_every_size_written_one_after_another_read_back_intact()
    {
        int[] sizes = [.. Enumerable.Range(1, 600), 1000, 4093, 4096, 4099, 20_000];
        var kinds = new[] { RecordKind.Data, RecordKind.Gap, RecordKind.SegmentEnd };
        var buffer = new byte[SegmentScanner.FirstRecordOffset + sizes.Sum(RecordFormat.AlignedSize) + RecordFormat.HeaderSize];
        const long Segment = 42;
        var offset = SegmentScanner.FirstRecordOffset;
        foreach (var (size, i) in sizes.Select((s, i) => (s, i)))
        {
            RecordFormat.Write(buffer.AsSpan(offset), Segment, offset, kinds[i % kinds.Length], PayloadOf(size, i));
            offset += RecordFormat.AlignedSize(size);
        }

        offset = SegmentScanner.FirstRecordOffset;
        foreach (var (size, i) in sizes.Select((s, i) => (s, i)))
        {
            var read = RecordFormat.TryRead(buffer, Segment, offset);
            Assert.Equal(new RecordRead(RecordStatus.Valid, kinds[i % kinds.Length], offset + RecordFormat.HeaderSize, size, RecordFormat.AlignedSize(size)), read);
            Assert.True(buffer.AsSpan(read.PayloadOffset, read.PayloadLength).SequenceEqual(PayloadOf(size, i)), $"payload of size {size}");
            Assert.True(buffer.AsSpan(read.PayloadOffset + size, read.Size - RecordFormat.HeaderSize - size).IndexOfAnyExcept((byte)0) < 0, $"padding of size {size}");
            offset += read.Size;
        }

        Assert.Equal(RecordStatus.Empty, RecordFormat.TryRead(buffer, Segment, offset).Status);
    }

    /// <remarks>FsCheck property: random non-empty payloads at random aligned offsets of random segments.</remarks>
    [Property(MaxTest = 300)]
    public bool Any_payload_round_trips_at_any_aligned_offset_of_any_segment(NonEmptyArray<byte> payload, PositiveInt segment, byte slot, bool gap)
    {
        var bytes = payload.Get;
        var offset = SegmentScanner.FirstRecordOffset + slot * RecordFormat.Alignment;
        var kind = gap ? RecordKind.Gap : RecordKind.Data;
        var buffer = new byte[offset + RecordFormat.AlignedSize(bytes.Length) + 8];
        RecordFormat.Write(buffer.AsSpan(offset), segment.Get, offset, kind, bytes);

        var read = RecordFormat.TryRead(buffer, segment.Get, offset);
        return read.Status == RecordStatus.Valid
            && read.Kind == kind
            && buffer.AsSpan(read.PayloadOffset, read.PayloadLength).SequenceEqual(bytes)
            && RecordFormat.TryRead(buffer, segment.Get + 1, offset).Status == RecordStatus.Invalid
            && RecordFormat.FindNextValid(buffer, segment.Get, 0) == offset;
    }

    [Fact]
    public void Write_refuses_a_destination_too_small_for_the_padded_record()
    {
        var destination = new byte[RecordFormat.AlignedSize(9) - 1];
        Assert.Throws<ArgumentException>(() => RecordFormat.Write(destination, 1, 64, RecordKind.Data, new byte[9]));
    }

    [Fact]
    public void A_record_copied_to_another_offset_is_invalid_there()
    {
        var buffer = new byte[1024];
        RecordFormat.Write(buffer.AsSpan(64), 5, 64, RecordKind.Data, Wals.Payload(1, 50));
        var size = RecordFormat.AlignedSize(50);
        buffer.AsSpan(64, size).CopyTo(buffer.AsSpan(512));

        Assert.Equal(RecordStatus.Valid, RecordFormat.TryRead(buffer, 5, 64).Status);
        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer, 5, 512).Status);

        // The same bytes at the same offset of another file are valid again: validity is (segment, offset, bytes).
        var elsewhere = new byte[1024];
        buffer.AsSpan(64, size).CopyTo(elsewhere.AsSpan(64));
        Assert.Equal(RecordStatus.Valid, RecordFormat.TryRead(elsewhere, 5, 64).Status);
    }

    [Fact]
    public void A_record_is_invalid_when_read_as_part_of_another_segment()
    {
        var buffer = new byte[256];
        RecordFormat.Write(buffer.AsSpan(64), 7, 64, RecordKind.Data, Wals.Payload(1, 40));

        Assert.Equal(RecordStatus.Valid, RecordFormat.TryRead(buffer, 7, 64).Status);
        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer, 6, 64).Status);
        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer, 8, 64).Status);
        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer, 7L + (1L << 32), 64).Status);
    }

    [Fact]
    public void A_record_checksummed_for_another_segment_is_invalid()
    {
        var buffer = new byte[256];
        var payload = Wals.Payload(3, 40);
        RecordFormat.Write(buffer.AsSpan(64), 7, 64, RecordKind.Data, payload);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(68), RecordFormat.Checksum(8, 64, (uint)payload.Length, RecordKind.Data, payload));

        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer, 7, 64).Status);
        Assert.Equal(RecordStatus.Valid, RecordFormat.TryRead(buffer, 8, 64).Status);
    }

    [Fact]
    public void Every_single_bit_flip_in_a_record_header_or_payload_makes_it_invalid()
    {
        foreach (var size in new[] { 1, 8, 37, 200 })
        {
            var original = new byte[64 + RecordFormat.AlignedSize(size)];
            RecordFormat.Write(original.AsSpan(64), 3, 64, RecordKind.Data, PayloadOf(size, size));
            for (var bit = 0; bit < (RecordFormat.HeaderSize + size) * 8; bit++)
            {
                var damaged = (byte[])original.Clone();
                damaged[64 + (bit / 8)] ^= (byte)(1 << (bit % 8));
                Assert.True(RecordFormat.TryRead(damaged, 3, 64).Status == RecordStatus.Invalid, $"size {size}, bit {bit}");
            }
        }
    }

    [Fact]
    public void Zeros_read_as_empty_and_so_does_a_header_that_would_run_past_the_end()
    {
        var zeros = new byte[128];
        Assert.Equal(RecordStatus.Empty, RecordFormat.TryRead(zeros, 1, 64).Status);

        var buffer = new byte[128];
        RecordFormat.Write(buffer.AsSpan(64), 1, 64, RecordKind.Data, Wals.Payload(1, 40));
        Assert.Equal(RecordStatus.Empty, RecordFormat.TryRead(buffer, 1, 120).Status);
        Assert.Equal(RecordStatus.Empty, RecordFormat.TryRead(buffer, 1, -8).Status);
    }

    [Fact]
    public void A_record_cut_off_by_the_end_of_the_segment_is_invalid()
    {
        var buffer = new byte[64 + RecordFormat.AlignedSize(100)];
        RecordFormat.Write(buffer.AsSpan(64), 1, 64, RecordKind.Data, Wals.Payload(1, 100));

        Assert.Equal(RecordStatus.Valid, RecordFormat.TryRead(buffer.AsSpan(0, 64 + RecordFormat.HeaderSize + 100), 1, 64).Status);
        Assert.Equal(RecordStatus.Invalid, RecordFormat.TryRead(buffer.AsSpan(0, 64 + RecordFormat.HeaderSize + 99), 1, 64).Status);
    }

    [Fact]
    public void Find_next_valid_skips_zeros_garbage_and_records_copied_from_elsewhere()
    {
        const long Segment = 9;
        var buffer = new byte[4096];
        new Random(11).NextBytes(buffer.AsSpan(512, 488));

        // Inside the garbage: a well-formed record written for another offset, as a stale copy would be.
        var stale = new byte[RecordFormat.AlignedSize(40)];
        RecordFormat.Write(stale, Segment, 1000, RecordKind.Data, Wals.Payload(99, 40));
        stale.CopyTo(buffer.AsSpan(800));

        RecordFormat.Write(buffer.AsSpan(1000), Segment, 1000, RecordKind.Data, Wals.Payload(1, 40));
        RecordFormat.Write(buffer.AsSpan(2000), Segment, 2000, RecordKind.Gap, Wals.Payload(2, 40));

        Assert.Equal(1000, RecordFormat.FindNextValid(buffer, Segment, 64));
        Assert.Equal(1000, RecordFormat.FindNextValid(buffer, Segment, 513));
        Assert.Equal(1000, RecordFormat.FindNextValid(buffer, Segment, 1000));
        Assert.Equal(2000, RecordFormat.FindNextValid(buffer, Segment, 1001));
        Assert.Equal(-1, RecordFormat.FindNextValid(buffer, Segment, 2001));
        Assert.Equal(-1, RecordFormat.FindNextValid(buffer, Segment + 1, 64));
        Assert.Equal(-1, RecordFormat.FindNextValid(new byte[4096], Segment, 64));
    }

    [Fact]
    public void Records_up_to_the_maximum_size_are_appended_and_read_back_intact()
    {
        using var dir = new TempDirectory();
        int max;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: SmallSegmentBytes)))
        {
            max = wal.MaxPayloadBytes;
            Assert.Equal(SmallSegmentBytes - SegmentHeader.Size64 - RecordFormat.SegmentEndRecordSize - RecordFormat.HeaderSize, max);
            int[] sizes = [max, 20, max, max - 1, SmallSegmentBytes / 2 + 1, 8, max - 7, 100];
            foreach (var (size, i) in sizes.Select((s, i) => (s, i)))
            {
                Assert.True(wal.Append(Wals.Payload(i, size)), $"append of {size} bytes");
            }

            Assert.Equal(0, wal.Metrics.DroppedTotal());
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), Wals.DataSequences(records));
        Assert.All(records, r => Assert.True(Wals.IsIntact(r.Payload, out _)));
        Assert.Equal(0, reader.DamagedRanges);
    }

    /// <remarks>
    /// FsCheck property (<see cref="PayloadSizes"/>): lists of payload sizes, a third of them larger
    /// than half a 16 KiB segment, appended through a real <see cref="WriteAheadLog"/>.
    /// </remarks>
    [Property(MaxTest = 25, Arbitrary = new[] { typeof(WalArbitraries) })]
    public void Payloads_of_any_size_appended_to_a_small_segment_wal_read_back_intact_and_in_order(PayloadSizes sizes)
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: SmallSegmentBytes)))
        {
            for (var i = 0; i < sizes.Sizes.Length; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i, sizes.Sizes[i])), $"append {i} of {sizes.Sizes[i]} bytes");
            }
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal(Enumerable.Range(0, sizes.Sizes.Length).Select(i => (long)i), Wals.DataSequences(records));
        Assert.Equal(sizes.Sizes, records.Select(r => r.Payload.Length));
        Assert.All(records, r => Assert.True(Wals.IsIntact(r.Payload, out _)));
        Assert.Equal(0, reader.DamagedRanges);
    }

    [Fact]
    public void A_record_over_the_maximum_is_refused_counted_and_marked_by_a_gap_record()
    {
        using var dir = new TempDirectory();
        var clock = new FixedClock(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123));
        int tooLarge;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: SmallSegmentBytes, time: clock)))
        {
            tooLarge = wal.MaxPayloadBytes + 1;
            Assert.True(wal.Append(Wals.Payload(0, 100)));
            Assert.False(wal.Append(Wals.Payload(1, tooLarge)));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.TooLarge));
            Assert.Equal(1, wal.Metrics.DroppedTotal());
            Assert.True(wal.Append(Wals.Payload(2, 100)));
            Assert.Equal(2, wal.Metrics.AppendedRecords);
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal([RecordKind.Data, RecordKind.Gap, RecordKind.Data], records.Select(r => r.Kind));
        Assert.True(GapMarker.TryRead(records[1].Payload, out var gap));
        Assert.Equal(new GapMarker(WalDropReason.TooLarge, 1, tooLarge, 1_700_000_000_123, 1_700_000_000_123), gap);
        Assert.Equal([0L, 2L], Wals.DataSequences(records));
    }

    /// <summary>
    /// The gap marker of a refused record is written at once when the open segment has room. When it
    /// has not, the marker waits for the next segment; the WAL being disposed first must not lose it.
    /// </summary>
    [Fact]
    public void A_refused_record_is_marked_in_the_wal_even_when_the_open_segment_has_no_room_for_the_marker()
    {
        using var dir = new TempDirectory();
        const int Segment = 4096;
        int tooLarge;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: Segment)))
        {
            // One record that leaves 48 bytes before the data limit: less than a gap record (16 + 40).
            var dataLimit = Segment - RecordFormat.SegmentEndRecordSize;
            Assert.True(wal.Append(Wals.Payload(0, dataLimit - SegmentScanner.FirstRecordOffset - 48 - RecordFormat.HeaderSize)));
            tooLarge = wal.MaxPayloadBytes + 1;
            Assert.False(wal.Append(Wals.Payload(1, tooLarge)));
            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.TooLarge));
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal([0L], Wals.DataSequences(records));
        var gaps = records.Where(r => r.Kind == RecordKind.Gap).ToList();
        Assert.True(gaps.Count == 1, $"{gaps.Count} gap records in the WAL for one refused record");
        Assert.True(GapMarker.TryRead(gaps[0].Payload, out var gap));
        Assert.Equal((WalDropReason.TooLarge, 1L, (long)tooLarge), (gap.Reason, gap.Records, gap.Bytes));
    }

    [Fact]
    public void A_gap_marker_that_did_not_fit_the_open_segment_is_written_to_the_next_one()
    {
        using var dir = new TempDirectory();
        const int Segment = 4096;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: Segment)))
        {
            var dataLimit = Segment - RecordFormat.SegmentEndRecordSize;
            Assert.True(wal.Append(Wals.Payload(0, dataLimit - SegmentScanner.FirstRecordOffset - 48 - RecordFormat.HeaderSize)));
            Assert.False(wal.Append(Wals.Payload(1, wal.MaxPayloadBytes + 1)));
            Assert.True(wal.Append(Wals.Payload(2, 20)));
        }

        var records = Wals.ReadAll(dir.Path, out var reader);
        reader.Dispose();
        Assert.Equal([RecordKind.Data, RecordKind.Gap, RecordKind.Data], records.Select(r => r.Kind));
        Assert.True(GapMarker.TryRead(records[1].Payload, out var gap));
        Assert.Equal(WalDropReason.TooLarge, gap.Reason);
    }

    [Fact]
    public void An_empty_payload_is_refused_and_counted()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: SmallSegmentBytes));

        Assert.False(wal.Append([]));
        Assert.Equal(1, wal.Metrics.DroppedTotal());
        Assert.Equal(0, wal.Metrics.AppendedRecords);
    }

    [Fact]
    public void Segment_header_round_trips()
    {
        var header = new SegmentHeader(123_456_789_012, 64L << 20, 1_700_000_000_000);
        var bytes = new byte[SegmentHeader.Size64 + 8];
        bytes.AsSpan().Fill(0xAA);
        header.Write(bytes);

        Assert.True(SegmentHeader.TryRead(bytes, out var read));
        Assert.Equal(header, read);
        Assert.Equal("LPWALSEG"u8.ToArray(), bytes[..8]);
        Assert.Equal(0xAA, bytes[SegmentHeader.Size64]);
    }

    [Fact]
    public void Any_flipped_bit_or_cut_in_a_segment_header_is_detected()
    {
        var original = new byte[SegmentHeader.Size64];
        new SegmentHeader(7, 4096, 1_700_000_000_000).Write(original);
        for (var bit = 0; bit < SegmentHeader.Size64 * 8; bit++)
        {
            var damaged = (byte[])original.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(SegmentHeader.TryRead(damaged, out _), $"bit {bit}");
        }

        Assert.False(SegmentHeader.TryRead(original.AsSpan(0, SegmentHeader.Size64 - 1), out _));
        Assert.False(SegmentHeader.TryRead(new byte[SegmentHeader.Size64], out _));
    }

    [Fact]
    public void A_segment_written_by_the_wal_carries_its_sequence_size_and_creation_time()
    {
        using var dir = new TempDirectory();
        var clock = new FixedClock(DateTimeOffset.FromUnixTimeMilliseconds(1_650_000_000_000));
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: SmallSegmentBytes, time: clock)))
        {
            Assert.True(wal.Append(Wals.Payload(0, 64)));
        }

        var bytes = File.ReadAllBytes(dir.Combine(SegmentNames.FileName(1)));
        Assert.Equal(SmallSegmentBytes, bytes.Length);
        Assert.True(SegmentHeader.TryRead(bytes, out var header));
        Assert.Equal(new SegmentHeader(1, SmallSegmentBytes, 1_650_000_000_000), header);
    }

    [Fact]
    public void Gap_marker_round_trips_for_every_reason()
    {
        foreach (var reason in WalDropReasons.All)
        {
            var marker = new GapMarker(reason, long.MaxValue - 1, 1L << 40, 1_600_000_000_000, 1_700_000_000_000);
            var bytes = new byte[GapMarker.Size];
            bytes.AsSpan().Fill(0xEE);
            marker.Write(bytes);

            Assert.True(GapMarker.TryRead(bytes, out var read));
            Assert.Equal(marker, read);
        }
    }

    [Fact]
    public void A_gap_marker_of_another_version_or_cut_short_is_refused()
    {
        var bytes = new byte[GapMarker.Size];
        new GapMarker(WalDropReason.WalFull, 3, 300, 1, 2).Write(bytes);

        Assert.False(GapMarker.TryRead(bytes.AsSpan(0, GapMarker.Size - 1), out _));
        bytes[0] = 2;
        Assert.False(GapMarker.TryRead(bytes, out _));
        bytes[0] = 0;
        Assert.False(GapMarker.TryRead(bytes, out _));
    }

    private static byte[] PayloadOf(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A list of payload sizes for the WAL property; printed in full when a case fails.</summary>
    public sealed record PayloadSizes(int[] Sizes)
    {
        public override string ToString() => "[" + string.Join(", ", Sizes) + "]";
    }

    /// <summary>Sizes from 8 bytes (the least <see cref="Wals.Payload"/> makes) to the most a 16 KiB segment takes.</summary>
    public static class WalArbitraries
    {
        public static Arbitrary<PayloadSizes> PayloadSizes()
        {
            var max = Wals.Options("unused", segmentBytes: SmallSegmentBytes).MaxPayloadBytes;
            var size = Gen.Frequency(
                (3, Gen.Choose(8, 200)),
                (2, Gen.Choose(201, SmallSegmentBytes / 2)),
                (3, Gen.Choose((SmallSegmentBytes / 2) + 1, max)),
                (1, Gen.Constant(max)));
            return Arb.From(
                from count in Gen.Choose(1, 40)
                from sizes in Gen.ArrayOf(size, count)
                select new PayloadSizes(sizes));
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
