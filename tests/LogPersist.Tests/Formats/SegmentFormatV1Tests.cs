using System.IO.Abstractions;
using System.Text;
using LogPersist.Entries;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Formats;

/// <summary>
/// WAL segment format version 1, pinned by two checked-in segments (<c>Fixtures/v1/wal/</c>, every byte explained in
/// <c>Fixtures/v1/README.md</c>): a closed segment holding entry A, a gap marker, entry B and its end record, and the
/// segment a killed process was writing, holding entry C and a torn tail. Old WALs stay readable only while these read
/// exactly so; and new ones stay readable by older releases only while the writer frames records exactly so.
/// </summary>
public sealed class SegmentFormatV1Tests : IDisposable
{
    private static readonly DamagedRange TornTail = new(8, 176, 40, DamageKind.Torn);

    private readonly TempDirectory _dir = new();

    public SegmentFormatV1Tests() => Fixtures.CopyFolder("v1/wal", _dir.Path);

    public void Dispose() => _dir.Dispose();

    private static byte[] Segment(long sequence) => Fixtures.Bytes("v1", "wal", SegmentNames.FileName(sequence));

    [Fact]
    public void A_version_1_WAL_reads_record_by_record_and_only_its_torn_tail_is_skipped()
    {
        var damage = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), _dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add);
        var records = new List<(RecordKind Kind, WalPosition At, byte[] Payload)>();
        while (reader.TryRead(out var record))
        {
            records.Add((record.Kind, record.Position, record.Payload.ToArray()));
        }

        Assert.Equal(
            [(RecordKind.Data, new WalPosition(7, 64)), (RecordKind.Gap, new WalPosition(7, 144)), (RecordKind.Data, new WalPosition(7, 200)), (RecordKind.Data, new WalPosition(8, 64))],
            records.Select(r => (r.Kind, r.At)));
        AssertEntryA(records[0].Payload);
        Assert.True(GapMarker.TryRead(records[1].Payload, out var gap));
        Assert.Equal(new GapMarker(WalDropReason.OldestEvicted, 17, 2_890, 1_767_225_590_000, 1_767_225_599_000), gap);
        AssertEntryB(records[2].Payload);
        AssertEntryC(records[3].Payload);
        Assert.Equal([TornTail], damage);
    }

    [Fact]
    public void Reading_from_the_version_1_checkpoint_starts_at_the_first_record_not_yet_shipped()
    {
        var checkpoint = new Checkpoint(new FileSystem(), _dir.Path).Load();
        Assert.Equal(new WalPosition(7, 144), checkpoint);

        var records = Wals.ReadAll(_dir.Path, out var reader, from: checkpoint);
        reader.Dispose();

        Assert.Equal([RecordKind.Gap, RecordKind.Data, RecordKind.Data], records.Select(r => r.Kind));
        AssertEntryB(records[1].Payload);
        AssertEntryC(records[2].Payload);
    }

    [Fact]
    public void Recovery_of_a_version_1_WAL_counts_its_entries_its_gap_marker_and_one_torn_range()
    {
        var report = Recovery.Scan(new FileSystem(), _dir.Path, [7, 8], WalPosition.Start, metrics: null);

        Assert.Equal((2, 3L, 1L, 1L, 40L, 0), (report.Segments, report.Records, report.GapMarkers, report.DamagedRanges, report.DamagedBytes, report.DamagedHeaders));
        Assert.Equal([TornTail], report.Damage);
    }

    [Fact]
    public void Version_1_segment_headers_give_sequence_size_and_creation_time()
    {
        Assert.True(SegmentHeader.TryRead(Segment(7), out var seven));
        Assert.True(SegmentHeader.TryRead(Segment(8), out var eight));

        Assert.Equal(new SegmentHeader(7, 512, 1_767_225_600_000), seven);
        Assert.Equal(new SegmentHeader(8, 512, 1_767_225_600_000), eight);
    }

    [Fact]
    public void The_writer_still_frames_version_1_headers_records_and_gap_markers_byte_for_byte()
    {
        var seven = Segment(7);
        var eight = Segment(8);
        var written = new byte[512];
        new SegmentHeader(7, 512, 1_767_225_600_000).Write(written, SegmentHeader.OldestVersion);
        Write(written, 7, 64, RecordKind.Data, seven.AsSpan(80, 60));
        Span<byte> gap = stackalloc byte[GapMarker.Size];
        new GapMarker(WalDropReason.OldestEvicted, 17, 2_890, 1_767_225_590_000, 1_767_225_599_000).Write(gap);
        Write(written, 7, 144, RecordKind.Gap, gap);
        Write(written, 7, 200, RecordKind.Data, seven.AsSpan(216, 51));
        Write(written, 7, 272, RecordKind.SegmentEnd, new byte[RecordFormat.SegmentEndPayloadSize]);

        // A difference means new segments no longer match version 1: earlier releases would not read them.
        Assert.Equal(Convert.ToHexString(seven), Convert.ToHexString(written));

        var header = new byte[SegmentHeader.Size64];
        new SegmentHeader(8, 512, 1_767_225_600_000).Write(header, SegmentHeader.OldestVersion);
        var record = new byte[RecordFormat.AlignedSize(91)];
        RecordFormat.Write(record, 8, 64, RecordKind.Data, eight.AsSpan(80, 91));
        Assert.Equal(Convert.ToHexString(eight.AsSpan(0, 64)), Convert.ToHexString(header));
        Assert.Equal(Convert.ToHexString(eight.AsSpan(64, record.Length)), Convert.ToHexString(record));

        // Version 2 (the string table) frames records the same way: its header differs in the version and checksum only.
        var current = new byte[SegmentHeader.Size64];
        new SegmentHeader(8, 512, 1_767_225_600_000).Write(current);
        Assert.Equal(2, BitConverter.ToUInt16(current, 8));
        Assert.Equal(Convert.ToHexString(header.AsSpan(10, 50)), Convert.ToHexString(current.AsSpan(10, 50)));
        Assert.Equal(Convert.ToHexString(header.AsSpan(0, 8)), Convert.ToHexString(current.AsSpan(0, 8)));
    }

    [Fact]
    public async Task A_version_1_WAL_directory_opens_with_its_checkpoint_and_the_next_appends_go_to_a_new_segment()
    {
        File.Delete(Path.Combine(_dir.Path, OwnerRecord.FileName));
        using (var wal = WriteAheadLog.Open(Wals.Options(_dir.Path)))
        {
            Assert.Equal(new WalPosition(7, 144), wal.Checkpoint);
            Assert.Equal(9, wal.FirstLiveSegment);
            Assert.True(wal.Append(Wals.Payload(1)));
            var report = await wal.Recovery;
            Assert.Equal((2L, 1L, 1L), (report.Records, report.GapMarkers, report.DamagedRanges));
        }

        var records = Wals.ReadAll(_dir.Path, out var reader, from: new WalPosition(7, 144));
        reader.Dispose();
        Assert.Equal([RecordKind.Gap, RecordKind.Data, RecordKind.Data, RecordKind.Data], records.Select(r => r.Kind));
        Assert.Equal([1L], Wals.DataSequences(records.Skip(3)));
    }

    private static void Write(byte[] segment, long sequence, int offset, RecordKind kind, ReadOnlySpan<byte> payload) =>
        RecordFormat.Write(segment.AsSpan(offset), sequence, offset, kind, payload);

    private static void AssertEntryA(byte[] payload)
    {
        Assert.True(EntryView.TryDecode(payload, out var a));
        Assert.Equal((1_767_225_600_123_456_789L, EntryLevel.Information, "Orders.Api"), (a.TimestampNs, a.Level, Encoding.UTF8.GetString(a.Category)));
        Assert.Equal("Order {OrderId} shipped", Encoding.UTF8.GetString(a.Template));
        Assert.False(a.Has(EntryFlags.Message));
        Assert.Equal(["OrderId=int:42"], EncodedValues.Properties(a));
        Assert.Empty(EncodedValues.Scopes(a));
    }

    private static void AssertEntryB(byte[] payload)
    {
        Assert.True(EntryView.TryDecode(payload, out var b));
        Assert.Equal((1_767_225_600_124_456_789L, EntryLevel.Warning, "Storage"), (b.TimestampNs, b.Level, Encoding.UTF8.GetString(b.Category)));
        Assert.Equal("disk almost full", Encoding.UTF8.GetString(b.Message));
        Assert.Empty(EncodedValues.Properties(b));
        Assert.Equal(["string:\"request 7\""], EncodedValues.Scopes(b));
    }

    private static void AssertEntryC(byte[] payload)
    {
        Assert.True(EntryView.TryDecode(payload, out var c));
        Assert.Equal((1_767_225_600_125_456_789L, EntryLevel.Error, "Orders.Api"), (c.TimestampNs, c.Level, Encoding.UTF8.GetString(c.Category)));
        Assert.Equal("Order {OrderId} failed", Encoding.UTF8.GetString(c.Template));
        Assert.Equal(1001, c.EventId);
        Assert.Equal("System.TimeoutException: late", Encoding.UTF8.GetString(c.Exception));
        Assert.Equal(["OrderId=int:43"], EncodedValues.Properties(c));
    }
}
