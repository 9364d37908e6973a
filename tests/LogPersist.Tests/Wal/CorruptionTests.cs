using System.Diagnostics;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Xunit.Abstractions;

namespace LogPersist.Tests.Wal;

/// <summary>
/// A sealed two-segment WAL is damaged one byte (or one cut) at a time, and after each damage it must
/// still recover and read every record the damage did not touch, exactly once, in order, intact, and
/// count the damage whenever a record was lost.
/// </summary>
/// <remarks>
/// Every offset is tried against the closed directory with <see cref="Recovery.Scan"/> and
/// <see cref="WalReader"/>, the two calls <see cref="WriteAheadLog.Open"/> and its reader make, on
/// files damaged and restored in place (a fraction of a millisecond a trial). A full
/// <see cref="WriteAheadLog.Open"/> per trial also creates, and afterwards must delete, a new live
/// segment and the owner file: on the ext4 test machine that measured 5 to 12 ms a trial, 45 s and
/// more for the 8,192 offsets of one loop. The opened-WAL loops therefore use a stride of
/// <see cref="OpenStride"/>: odd, so it lands on every position within the 8-byte record alignment,
/// and dense enough to hit the header, record headers, payloads, padding, end records and zero tail
/// of both segments. The every-offset truncation trials are run once and checked by two tests.
/// </remarks>
public sealed class CorruptionTests : IClassFixture<CorruptionTests.SealedWal>
{
    private const int SegmentBytes = 4096;
    private const int OpenStride = 19;
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(10);

    private readonly SealedWal _wal;
    private readonly ITestOutputHelper _output;

    public CorruptionTests(SealedWal wal, ITestOutputHelper output)
    {
        _wal = wal;
        _output = output;
    }

    [Fact]
    public void The_sample_wal_has_two_sealed_segments_of_small_records()
    {
        Assert.Equal([1L, 2L], _wal.Segments.Keys.Order());
        Assert.All(_wal.Segments.Values, bytes => Assert.Equal(SegmentBytes, bytes.Length));
        Assert.Equal(Enumerable.Range(0, _wal.Records.Count).Select(i => (long)i), _wal.Records.Select(r => r.Sequence));
        Assert.All(_wal.Records, r => Assert.InRange(r.PayloadEnd - r.Offset - RecordFormat.HeaderSize, 20, 200));
        foreach (var segment in _wal.Segments.Keys)
        {
            var records = _wal.Records.Where(r => r.Segment == segment).ToList();
            Assert.True(records.Count >= 5, $"segment {segment} holds only {records.Count} records");
            var end = RecordFormat.TryRead(_wal.Segments[segment], segment, records[^1].End);
            Assert.Equal((RecordStatus.Valid, RecordKind.SegmentEnd), (end.Status, end.Kind));
        }
    }

    [Fact]
    public void Flipping_any_byte_loses_only_the_record_it_hits_and_the_loss_is_counted() =>
        AssertNoViolations(ClosedTrials("flip", Flip), CheckFlip);

    [Fact]
    public async Task Flipping_a_byte_then_reopening_the_wal_recovers_every_untouched_record() =>
        AssertNoViolations(await OpenTrialsAsync("flip", Flip), CheckFlip);

    [Fact]
    public void Truncating_a_segment_anywhere_keeps_every_record_wholly_before_the_cut() =>
        AssertNoViolations(_wal.Cached("cuts", () => ClosedTrials("cut", Cut)), CheckCut);

    [Fact]
    public async Task Truncating_a_segment_then_reopening_the_wal_recovers_every_record_before_the_cut() =>
        AssertNoViolations(await OpenTrialsAsync("cut", Cut), CheckCut);

    /// <summary>
    /// A cut between two records (at a record's start, or inside the zero padding of the record
    /// before it) leaves a segment that reads like a clean end: the records after the cut are gone
    /// and must be reported, since the segment header still says how long the file was.
    /// </summary>
    [Fact]
    public void Truncating_a_segment_anywhere_reports_damage_when_records_are_lost() =>
        AssertNoViolations(_wal.Cached("cuts", () => ClosedTrials("cut", Cut)), (_, _, outcome) =>
        {
            var lost = _wal.Records.Count - outcome.Read.Count;
            return outcome.Failure is null && lost > 0 && (outcome.ReaderDamagedRanges == 0 || outcome.Report.DamagedRanges == 0)
                ? [$"{lost} records lost, the reader counted {outcome.ReaderDamagedRanges} damaged ranges, recovery {outcome.Report.DamagedRanges}"]
                : [];
        });

    [Fact]
    public void A_zero_filled_hole_between_records_is_torn_and_the_records_after_it_are_read()
    {
        using var scratch = new Scratch(_wal);
        var hole = _wal.Records.Where(r => r.Segment == 1).Skip(3).First();
        var damaged = (byte[])_wal.Segments[1].Clone();
        Array.Clear(damaged, hole.Offset, hole.End - hole.Offset);
        scratch.Damage(1, damaged);

        var ranges = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), scratch.Path, WalPosition.Start, long.MaxValue, onDamage: ranges.Add);

        Assert.Equal(_wal.Records.Select(r => r.Sequence).Where(s => s != hole.Sequence), ReadSequences(reader));
        Assert.Equal([new DamagedRange(1, hole.Offset, hole.End - hole.Offset, DamageKind.Torn)], ranges);
        var report = Recovery.Scan(new FileSystem(), scratch.Path, [1, 2], WalPosition.Start, null);
        Assert.Equal(ranges, report.Damage);
        Assert.Equal(_wal.Records.Count - 1, report.Records);
    }

    [Fact]
    public void A_flipped_bit_inside_a_record_followed_by_valid_records_is_corrupt()
    {
        using var scratch = new Scratch(_wal);
        var victim = _wal.Records.Where(r => r.Segment == 1).Skip(2).First();
        var damaged = (byte[])_wal.Segments[1].Clone();
        damaged[victim.Offset + RecordFormat.HeaderSize + 3] ^= 0x01;
        scratch.Damage(1, damaged);

        var ranges = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), scratch.Path, WalPosition.Start, long.MaxValue, onDamage: ranges.Add);

        Assert.Equal(_wal.Records.Select(r => r.Sequence).Where(s => s != victim.Sequence), ReadSequences(reader));
        Assert.Equal([new DamagedRange(1, victim.Offset, victim.End - victim.Offset, DamageKind.Corrupt)], ranges);
    }

    [Fact]
    public void Garbage_after_the_last_record_of_a_segment_without_end_record_is_a_torn_range()
    {
        // A segment as a writer leaves it when it dies mid-record: records, then part of one, no end record.
        using var scratch = new Scratch(_wal);
        var segment = new byte[SegmentBytes];
        new SegmentHeader(1, SegmentBytes, 0).Write(segment);
        var offset = SegmentScanner.FirstRecordOffset;
        for (var i = 0; i < 5; i++)
        {
            var payload = Wals.Payload(i, 40 + i);
            RecordFormat.Write(segment.AsSpan(offset), 1, offset, RecordKind.Data, payload);
            offset += RecordFormat.AlignedSize(payload.Length);
        }

        // The writer stores the header word last, so a record cut short by its writer's death has a zero
        // header word followed by part of its kind and payload.
        const int GarbageLength = 37;
        new Random(7).NextBytes(segment.AsSpan(offset, GarbageLength));
        segment.AsSpan(offset, 8).Clear();
        segment[offset + GarbageLength - 1] |= 1;
        scratch.Damage(1, segment);

        var ranges = new List<DamagedRange>();
        using (var reader = new WalReader(new FileSystem(), scratch.Path, WalPosition.Start, long.MaxValue, onDamage: ranges.Add))
        {
            Assert.Equal([0, 1, 2, 3, 4, .. _wal.Records.Where(r => r.Segment == 2).Select(r => r.Sequence)], ReadSequences(reader));
        }

        Assert.Equal([new DamagedRange(1, offset, RecordFormat.AlignUp(GarbageLength), DamageKind.Torn)], ranges);
        var report = Recovery.Scan(new FileSystem(), scratch.Path, [1, 2], WalPosition.Start, null);
        Assert.Equal(ranges, report.Damage);
        Assert.Equal(0, report.DamagedHeaders);

        // A published header word that fails its checksum there is not a torn write but corruption.
        segment[offset] = 0x5A;
        scratch.Damage(1, segment);
        ranges.Clear();
        using (var reader = new WalReader(new FileSystem(), scratch.Path, WalPosition.Start, long.MaxValue, onDamage: ranges.Add))
        {
            ReadSequences(reader);
        }

        Assert.Equal([new DamagedRange(1, offset, RecordFormat.AlignUp(GarbageLength), DamageKind.Corrupt)], ranges);
    }

    [Fact]
    public async Task A_segment_cut_below_one_record_is_skipped_and_reported_and_later_segments_are_read()
    {
        using var scratch = new Scratch(_wal);
        scratch.Damage(1, _wal.Segments[1][..79]);

        var ranges = new List<DamagedRange>();
        using (var reader = new WalReader(new FileSystem(), scratch.Path, WalPosition.Start, long.MaxValue, onDamage: ranges.Add))
        {
            Assert.Equal(_wal.Records.Where(r => r.Segment == 2).Select(r => r.Sequence), ReadSequences(reader));
        }

        Assert.Equal([new DamagedRange(1, 0, 79, DamageKind.Torn)], ranges);

        using var wal = WriteAheadLog.Open(Wals.Options(scratch.Path, segmentBytes: SegmentBytes));
        var report = await wal.Recovery.WaitAsync(RecoveryTimeout);
        Assert.Equal(2, report.Segments);
        Assert.Equal(1, report.DamagedHeaders);
        Assert.Equal(ranges, report.Damage);
        Assert.Equal(_wal.Records.Count(r => r.Segment == 2), report.Records);
        using var live = wal.CreateReader(WalPosition.Start);
        Assert.Equal(_wal.Records.Where(r => r.Segment == 2).Select(r => r.Sequence), ReadSequences(live));
        Assert.Equal(1, live.DamagedRanges);
    }

    /// <summary>
    /// Recovery runs in the background while the application acknowledges (deleting shipped segments)
    /// and the writer evicts: a segment listed at open and deleted before the scan reached it was not
    /// damaged, and the reader, which checks that the file still exists, does not report it either.
    /// </summary>
    [Fact]
    public void A_segment_deleted_before_recovery_reached_it_is_not_reported_as_damage()
    {
        using var scratch = new Scratch(_wal);
        File.Delete(Path.Combine(scratch.Path, SegmentNames.FileName(1)));

        var report = Recovery.Scan(new FileSystem(), scratch.Path, [1, 2], WalPosition.Start, null);

        Assert.Equal(_wal.Records.Count(r => r.Segment == 2), report.Records);
        Assert.Empty(report.Damage);
        Assert.Equal(0, report.DamagedRanges);
        Assert.Equal(0, report.DamagedHeaders);
    }

    private static byte[] Flip(byte[] original, int at)
    {
        var damaged = (byte[])original.Clone();
        damaged[at] ^= 0xFF;
        return damaged;
    }

    private static byte[] Cut(byte[] original, int length) => original[..length];

    private List<string> CheckFlip(long segment, int at, Outcome outcome)
    {
        var violations = CheckCommon(outcome, requireLossCounted: true);
        if (outcome.Failure is not null)
        {
            return violations;
        }

        // A record is touched when the flip lands in its header or payload; padding is not checksummed and carries nothing.
        var touched = _wal.Records.Where(r => r.Segment == segment && at >= r.Offset && at < r.PayloadEnd).ToList();
        violations.AddRange(_wal.Records.Except(touched).Where(r => !outcome.Read.Contains(r.Sequence))
            .Select(r => $"untouched record {r.Sequence} at {r.Segment}:{r.Offset} was not read"));
        violations.AddRange(touched.Where(r => outcome.Read.Contains(r.Sequence)).Select(r => $"damaged record {r.Sequence} was returned"));
        if (at < SegmentHeader.Size64)
        {
            if (outcome.Report.DamagedHeaders != 1)
            {
                violations.Add($"a header flip was reported as {outcome.Report.DamagedHeaders} damaged headers");
            }

            if (outcome.Read.Count != _wal.Records.Count || outcome.ReaderDamagedRanges != 0)
            {
                violations.Add($"a header flip lost {_wal.Records.Count - outcome.Read.Count} records and made the reader skip {outcome.ReaderDamagedRanges} ranges");
            }
        }
        else if (outcome.Report.DamagedHeaders != 0)
        {
            violations.Add($"a flip after the header was reported as {outcome.Report.DamagedHeaders} damaged headers");
        }

        return violations;
    }

    private List<string> CheckCut(long segment, int length, Outcome outcome)
    {
        // Whether a lost record is reported is the subject of its own test; here only what must survive.
        var violations = CheckCommon(outcome, requireLossCounted: false);
        if (outcome.Failure is not null)
        {
            return violations;
        }

        violations.AddRange(_wal.Records.Where(r => (r.Segment != segment || r.End <= length) && !outcome.Read.Contains(r.Sequence))
            .Select(r => $"record {r.Sequence} at {r.Segment}:{r.Offset}..{r.End} was not read"));
        violations.AddRange(_wal.Records.Where(r => r.Segment == segment && r.PayloadEnd > length && outcome.Read.Contains(r.Sequence))
            .Select(r => $"record {r.Sequence}, which reaches past the cut, was returned"));
        if (length < SegmentHeader.Size64 + RecordFormat.HeaderSize
            && (outcome.ReaderDamagedRanges == 0 || outcome.Report.DamagedRanges == 0 || outcome.Report.DamagedHeaders == 0))
        {
            violations.Add($"an unusable segment was not reported (reader {outcome.ReaderDamagedRanges}, recovery {outcome.Report.DamagedRanges} ranges and {outcome.Report.DamagedHeaders} headers)");
        }

        return violations;
    }

    private List<string> CheckCommon(Outcome outcome, bool requireLossCounted)
    {
        if (outcome.Failure is not null)
        {
            return [outcome.Failure];
        }

        var violations = new List<string>(outcome.Problems);
        for (var i = 1; i < outcome.Read.Count; i++)
        {
            if (outcome.Read[i] <= outcome.Read[i - 1])
            {
                violations.Add($"record {outcome.Read[i]} was read after {outcome.Read[i - 1]} (out of order or twice)");
            }
        }

        if (outcome.Report.Records != outcome.Read.Count)
        {
            violations.Add($"recovery counted {outcome.Report.Records} records, the reader read {outcome.Read.Count}");
        }

        if (requireLossCounted && outcome.Read.Count < _wal.Records.Count && (outcome.ReaderDamagedRanges == 0 || outcome.Report.DamagedRanges == 0))
        {
            violations.Add($"{_wal.Records.Count - outcome.Read.Count} records were lost but the damage was not counted (reader {outcome.ReaderDamagedRanges}, recovery {outcome.Report.DamagedRanges})");
        }

        return violations;
    }

    /// <summary>Damages each segment at every offset in turn and scans the closed directory as an opened WAL would.</summary>
    private List<Trial> ClosedTrials(string name, Func<byte[], int, byte[]> damage)
    {
        using var scratch = new Scratch(_wal);
        return RunTrialsAsync(scratch, name, 1, damage, () => Task.FromResult(ScanClosed(scratch))).GetAwaiter().GetResult();
    }

    /// <summary>Damages each segment at every <see cref="OpenStride"/>-th offset in turn and opens, recovers and reads the WAL.</summary>
    private async Task<List<Trial>> OpenTrialsAsync(string name, Func<byte[], int, byte[]> damage)
    {
        using var scratch = new Scratch(_wal);
        return await RunTrialsAsync(scratch, name, OpenStride, damage, () => OpenAndReadAsync(scratch));
    }

    private async Task<List<Trial>> RunTrialsAsync(Scratch scratch, string name, int stride, Func<byte[], int, byte[]> damage, Func<Task<Outcome>> trial)
    {
        var trials = new List<Trial>();
        var stopwatch = Stopwatch.StartNew();
        foreach (var (segment, original) in _wal.Segments.OrderBy(s => s.Key))
        {
            for (var at = 0; at < original.Length; at += stride)
            {
                scratch.Damage(segment, damage(original, at));
                try
                {
                    trials.Add(new Trial(name, segment, at, await trial()));
                }
                finally
                {
                    scratch.Restore(segment);
                }
            }
        }

        _output.WriteLine($"{trials.Count} trials ({name}, stride {stride}) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        return trials;
    }

    private void AssertNoViolations(IEnumerable<Trial> trials, Func<long, int, Outcome, List<string>> check)
    {
        var violations = trials.SelectMany(t => check(t.Segment, t.At, t.Outcome).Select(v => $"{t.Name} {t.Segment}:{t.At}: {v}")).ToList();
        _output.WriteLine($"{violations.Count} violations");
        Assert.True(violations.Count == 0, $"{violations.Count} violations, the first ones:\n" + string.Join("\n", violations.Take(40)));
    }

    /// <summary>Opens the damaged WAL as a restarted application would, waits for recovery (bounded) and reads it all.</summary>
    private async Task<Outcome> OpenAndReadAsync(Scratch scratch)
    {
        try
        {
            using var wal = WriteAheadLog.Open(Wals.Options(scratch.Path, segmentBytes: SegmentBytes));
            var report = await wal.Recovery.WaitAsync(RecoveryTimeout);
            using var reader = wal.CreateReader(WalPosition.Start);
            var (read, problems) = ReadChecked(reader);
            return new Outcome(read, problems, reader.DamagedRanges, report, null);
        }
        catch (Exception e)
        {
            return new Outcome([], [], 0, null!, e.GetType().Name + ": " + e.Message);
        }
        finally
        {
            scratch.RemoveAllButSample();
        }
    }

    /// <summary>What an opened WAL does, on the closed directory: the recovery scan, then a reader from the start.</summary>
    private Outcome ScanClosed(Scratch scratch)
    {
        try
        {
            var fileSystem = new FileSystem();
            var report = Recovery.Scan(fileSystem, scratch.Path, [.. _wal.Segments.Keys.Order()], WalPosition.Start, null);
            using var reader = new WalReader(fileSystem, scratch.Path, WalPosition.Start, long.MaxValue);
            var (read, problems) = ReadChecked(reader);
            return new Outcome(read, problems, reader.DamagedRanges, report, null);
        }
        catch (Exception e)
        {
            return new Outcome([], [], 0, null!, e.GetType().Name + ": " + e.Message);
        }
    }

    /// <summary>Reads to the end, noting every record that is not intact or not where it was written.</summary>
    private (List<long> Read, List<string> Problems) ReadChecked(WalReader reader)
    {
        var read = new List<long>();
        var problems = new List<string>();
        while (reader.TryRead(out var record))
        {
            if (record.Kind != RecordKind.Data || !Wals.IsIntact(record.Payload.Span, out var sequence) || sequence >= _wal.Records.Count)
            {
                problems.Add($"a {record.Kind} record at {record.Position} is not one that was written");
                continue;
            }

            var written = _wal.Records[(int)sequence];
            if (record.Position != new WalPosition(written.Segment, written.Offset))
            {
                problems.Add($"record {sequence} was read at {record.Position}, written at {written.Segment}:{written.Offset}");
            }

            read.Add(sequence);
        }

        return (read, problems);
    }

    private static List<long> ReadSequences(WalReader reader)
    {
        var read = new List<long>();
        while (reader.TryRead(out var record))
        {
            Assert.Equal(RecordKind.Data, record.Kind);
            Assert.True(Wals.IsIntact(record.Payload.Span, out var sequence));
            read.Add(sequence);
        }

        return read;
    }

    private sealed record Trial(string Name, long Segment, int At, Outcome Outcome);

    private sealed record Outcome(List<long> Read, List<string> Problems, long ReaderDamagedRanges, RecoveryReport Report, string? Failure);

    /// <summary>Where one record of the sample WAL was written; <see cref="End"/> includes the padding.</summary>
    internal readonly record struct Written(long Sequence, long Segment, int Offset, int PayloadEnd, int End);

    /// <summary>
    /// A copy of the sample in a directory of its own. Segments are damaged and restored by rewriting
    /// the existing files in place: on ext4, replacing or deleting a written file costs milliseconds.
    /// </summary>
    private sealed class Scratch : IDisposable
    {
        private readonly SealedWal _wal;
        private readonly TempDirectory _directory;

        public Scratch(SealedWal wal, [System.Runtime.CompilerServices.CallerMemberName] string test = "")
        {
            _wal = wal;
            _directory = new TempDirectory(test);
            foreach (var (sequence, bytes) in wal.Segments)
            {
                File.WriteAllBytes(PathOf(sequence), bytes);
            }
        }

        public string Path => _directory.Path;

        public void Damage(long sequence, byte[] bytes)
        {
            using var stream = new FileStream(PathOf(sequence), FileMode.Open, FileAccess.Write);
            stream.SetLength(bytes.Length);
            stream.Write(bytes);
        }

        public void Restore(long sequence) => Damage(sequence, _wal.Segments[sequence]);

        /// <summary>Deletes what an opened WAL left behind: its own segment, the lock and owner files, a checkpoint.</summary>
        public void RemoveAllButSample()
        {
            var sample = _wal.Segments.Keys.Select(PathOf).ToHashSet();
            foreach (var file in Directory.EnumerateFiles(Path).Where(f => !sample.Contains(f)))
            {
                File.Delete(file);
            }
        }

        private string PathOf(long sequence) => System.IO.Path.Combine(Path, SegmentNames.FileName(sequence));

        public void Dispose() => _directory.Dispose();
    }

    /// <summary>
    /// The sample: a WAL with 4 KiB segments, filled through <see cref="WriteAheadLog"/> with records
    /// of 20 to 200 bytes until the second segment is about half full, then disposed (sealed).
    /// </summary>
    public sealed class SealedWal : IDisposable
    {
        private readonly TempDirectory _directory = new(nameof(SealedWal));
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<object>> _cache = new();

        public SealedWal()
        {
            var random = new Random(4096);
            using (var wal = WriteAheadLog.Open(Wals.Options(_directory.Path, segmentBytes: SegmentBytes)))
            {
                for (var i = 0; i < 45; i++)
                {
                    if (!wal.Append(Wals.Payload(i, random.Next(20, 201))))
                    {
                        throw new InvalidOperationException($"append {i} failed");
                    }
                }
            }

            Segments = Directory.EnumerateFiles(_directory.Path, SegmentNames.SearchPattern).ToDictionary(
                path => long.Parse(Path.GetFileNameWithoutExtension(path), CultureInfo.InvariantCulture),
                File.ReadAllBytes);

            using var reader = new WalReader(new FileSystem(), _directory.Path, WalPosition.Start, long.MaxValue);
            var records = new List<Written>();
            while (reader.TryRead(out var record))
            {
                if (!Wals.IsIntact(record.Payload.Span, out var sequence) || sequence != records.Count)
                {
                    throw new InvalidOperationException($"the sample WAL does not read back at {record.Position}");
                }

                var offset = (int)record.Position.Offset;
                records.Add(new Written(sequence, record.Position.Segment, offset, offset + RecordFormat.HeaderSize + record.Payload.Length, (int)record.Next.Offset));
            }

            Records = records;
        }

        internal IReadOnlyDictionary<long, byte[]> Segments { get; }

        internal IReadOnlyList<Written> Records { get; }

        /// <summary>A result computed once for all tests of the class (the every-offset trials that several tests check).</summary>
        internal T Cached<T>(string key, Func<T> create) =>
            (T)_cache.GetOrAdd(key, _ => new Lazy<object>(() => create()!)).Value;

        public void Dispose() => _directory.Dispose();
    }
}
