using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// Damage at every byte of a small WAL: whatever the damage, reading never throws or hangs, every
/// record it did not touch is read intact, in order and once, and a lost record is always counted.
/// </summary>
public sealed class CorruptionTests : IDisposable
{
    private const int SegmentBytes = 4096;
    private readonly TempDirectory _dir = new();
    private readonly List<Extent> _records = [];
    private readonly Dictionary<string, byte[]> _original = [];

    public CorruptionTests()
    {
        // Records of varying sizes (including padding) over two sealed segments.
        using (var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, segmentBytes: SegmentBytes)))
        {
            for (var i = 0; Directory.GetFiles(_dir.Path, "*.wal").Length < 3; i++)
            {
                wal.Append(Wals.Payload(i, 9 + (i * 37 % 190)));
            }
        }

        foreach (var path in Directory.GetFiles(_dir.Path, "*.wal").Order())
        {
            _original[path] = File.ReadAllBytes(path);
            Assert.True(SegmentNames.TryParse(Path.GetFileName(path), out var sequence));
            var offset = SegmentScanner.FirstRecordOffset;
            while (true)
            {
                var step = SegmentScanner.Step(_original[path], sequence, offset, live: false);
                if (step.Outcome != ScanOutcome.Record)
                {
                    break;
                }

                Wals.IsIntact(_original[path].AsSpan(step.Record.PayloadOffset, step.Record.PayloadLength), out var number);
                _records.Add(new Extent(path, step.Offset, step.Length, number));
                offset = step.Next;
            }
        }
    }

    [Fact]
    public void A_flipped_byte_anywhere_costs_at_most_the_record_it_hit_and_that_loss_is_counted()
    {
        Assert.True(_records.Count > 40);
        foreach (var (path, original) in _original)
        {
            for (var offset = 0; offset < original.Length; offset++)
            {
                var damaged = (byte[])original.Clone();
                damaged[offset] ^= 0xFF;
                File.WriteAllBytes(path, damaged);

                var hit = _records.Where(r => r.Path == path && r.Contains(offset)).Select(r => r.Sequence).ToHashSet();
                CheckRead($"flip of {Path.GetFileName(path)}@{offset}", lostAtMost: hit);
            }

            File.WriteAllBytes(path, original);
        }
    }

    [Fact]
    public void A_segment_cut_at_any_offset_keeps_every_record_before_the_cut_and_all_later_segments()
    {
        foreach (var (path, original) in _original)
        {
            for (var length = 0; length < original.Length; length++)
            {
                File.WriteAllBytes(path, original.AsSpan(0, length).ToArray());
                var cut = _records.Where(r => r.Path == path && r.Offset + r.Length > length).Select(r => r.Sequence).ToHashSet();
                CheckRead($"cut of {Path.GetFileName(path)} at {length}", lostAtMost: cut);
            }

            File.WriteAllBytes(path, original);
        }
    }

    [Fact]
    public async Task Opening_a_damaged_WAL_recovers_without_throwing_and_ships_what_is_intact()
    {
        // The full open path (lock, checkpoint, new segment, background recovery) at a stride of offsets;
        // each trial works on a fresh copy because opening adds a segment.
        var first = _original.First();
        for (var offset = 0; offset < first.Value.Length; offset += 37)
        {
            using var copy = new TempDirectory();
            foreach (var (path, bytes) in _original)
            {
                File.WriteAllBytes(Path.Combine(copy.Path, Path.GetFileName(path)), bytes);
            }

            var damagedPath = Path.Combine(copy.Path, Path.GetFileName(first.Key));
            var damaged = (byte[])first.Value.Clone();
            damaged[offset] ^= 0x10;
            File.WriteAllBytes(damagedPath, damaged);
            var hit = _records.Where(r => r.Path == first.Key && r.Contains(offset)).Select(r => r.Sequence).ToHashSet();

            using var wal = WriteAheadLog.Open(Wals.Options(copy.Path, segmentBytes: SegmentBytes));
            var report = await wal.Recovery.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(wal.Append(Wals.Payload(1_000_000, 50)));
            using var reader = wal.CreateReader();
            var read = ReadSequences(reader);

            var expected = _records.Select(r => r.Sequence).Where(s => !hit.Contains(s)).Append(1_000_000).ToList();
            Assert.Equal(expected, read.Where(s => !hit.Contains(s)));
            Assert.Equal(read.Count - 1, report.Records);
            if (read.Count < _records.Count + 1)
            {
                Assert.True(report.DamagedRanges > 0, $"loss at offset {offset} is counted by recovery");
            }

            if (offset < SegmentHeader.Size64)
            {
                Assert.Equal(1, report.DamagedHeaders);
            }
        }
    }

    [Fact]
    public void A_zero_filled_hole_between_records_is_a_torn_range_and_later_records_are_read()
    {
        // An appender that died between reserving its slot and publishing leaves zeros before later records.
        var victim = _records[5];
        var bytes = (byte[])_original[victim.Path].Clone();
        Array.Clear(bytes, victim.Offset, victim.Length);
        File.WriteAllBytes(victim.Path, bytes);

        var damage = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), _dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add);
        var read = ReadSequences(reader);

        Assert.Equal(_records.Select(r => r.Sequence).Where(s => s != victim.Sequence), read);
        var range = Assert.Single(damage);
        Assert.Equal(DamageKind.Torn, range.Kind);
        Assert.Equal(victim.Offset, range.Offset);
        Assert.Equal(victim.Length, range.Length);
    }

    [Fact]
    public void Garbage_after_the_last_record_of_an_unsealed_segment_is_a_torn_tail()
    {
        // A writer killed mid-record: no end record, a half-written record after the last valid one.
        var last = _records.Where(r => r.Path == _records[0].Path).Last();
        var bytes = (byte[])_original[last.Path].Clone();
        var tail = last.Offset + last.Length;
        Array.Clear(bytes, tail, bytes.Length - tail);
        bytes[tail] = 57;
        bytes[tail + 20] = 0xAB;
        File.WriteAllBytes(last.Path, bytes);

        var damage = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), _dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add);
        var read = ReadSequences(reader);

        Assert.Equal(_records.Select(r => r.Sequence), read);
        var range = Assert.Single(damage);
        Assert.Equal(DamageKind.Torn, range.Kind);
        Assert.Equal(tail, range.Offset);
    }

    [Fact]
    public void A_segment_too_short_to_hold_a_record_is_skipped_and_reported_and_later_segments_are_read()
    {
        var firstPath = _original.Keys.First();
        File.WriteAllBytes(firstPath, _original[firstPath].AsSpan(0, 70).ToArray());

        var damage = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), _dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add);
        var read = ReadSequences(reader);

        Assert.Equal(_records.Where(r => r.Path != firstPath).Select(r => r.Sequence), read);
        Assert.Contains(damage, d => d.Offset == 0 && d.Length == 70);
        Assert.False(reader.TryRead(out _));
        Assert.Single(damage, d => d.Length == 70);
    }

    private void CheckRead(string trial, HashSet<long> lostAtMost)
    {
        using var reader = new WalReader(new FileSystem(), _dir.Path, WalPosition.Start, long.MaxValue);
        var read = ReadSequences(reader, limit: _records.Count + 1);

        var expected = _records.Select(r => r.Sequence).Where(s => !lostAtMost.Contains(s)).ToList();
        var survivors = read.Where(s => !lostAtMost.Contains(s)).ToList();
        Assert.True(expected.SequenceEqual(survivors), $"{trial}: untouched records are all read, in order, once");
        Assert.True(read.Count == read.Distinct().Count(), $"{trial}: no record is read twice");
        if (read.Count < _records.Count)
        {
            Assert.True(reader.DamagedRanges > 0, $"{trial}: a lost record is counted");
        }
    }

    private static List<long> ReadSequences(WalReader reader, int limit = int.MaxValue)
    {
        var read = new List<long>();
        while (reader.TryRead(out var record))
        {
            if (record.Kind != RecordKind.Data)
            {
                continue;
            }

            Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence), $"record at {record.Position} is intact");
            read.Add(sequence);
            Assert.True(read.Count <= limit, "the reader does not loop");
        }

        return read;
    }

    public void Dispose() => _dir.Dispose();

    private sealed record Extent(string Path, int Offset, int Length, long Sequence)
    {
        public bool Contains(int offset) => offset >= Offset && offset < Offset + Length;
    }
}
