using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Xunit.Abstractions;

namespace LogPersist.Tests.Wal;

/// <summary>
/// Kills a child process (the crash helper) with SIGKILL while it writes, then checks what it left
/// on disk against what it had reported as done.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int SegmentBytes = 64 * 1024;
    private const int PayloadBytes = 170;
    private const long SequencesPerRun = 1_000_000_000;
    private const int Threads = 2;

    [Fact]
    public void Appends_that_returned_survive_repeated_SIGKILL_exactly_once()
    {
        const int Runs = 20;
        var stopwatch = Stopwatch.StartNew();
        using var dir = new TempDirectory();
        var random = new Random(20_240_917);
        var reported = new HashSet<long>();
        for (var run = 1; run <= Runs; run++)
        {
            var first = run * SequencesPerRun;
            var target = random.Next(2_000, 40_001);
            using var helper = CrashHelperProcess.Start("append", dir.Path, SegmentBytes, Threads, first);

            // READY after the first run means the killed predecessor's lock died with it.
            helper.WaitForReady();
            helper.WaitUntil(lines => lines.Count > target, $"{target} appends (run {run})");
            helper.Kill();

            var lines = helper.Lines;
            Assert.Equal(CrashHelperProcess.ReadyLine, lines[0]);
            var count = 0;
            foreach (var line in lines.Skip(1))
            {
                var sequence = ParseReport(line, 'A');
                Assert.InRange(sequence, first, first + SequencesPerRun - 1);
                Assert.True(reported.Add(sequence), $"The helper reported {sequence} twice.");
                count++;
            }

            Assert.True(count >= target, $"run {run}: {count} reports, expected at least {target}");
            output.WriteLine($"run {run,2}: killed after {count,6} reported appends (target {target,6}); cut-off line '{helper.CutOffLine}'");
        }

        var damage = new List<DamagedRange>();
        var onDisk = new Dictionary<long, int>();
        var damagedPayloads = new List<string>();
        var outOfOrder = new List<string>();
        var runOf = new List<(WalPosition At, long Run)>();
        long otherRecords = 0, segments = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Length;
        var previousRun = 0L;
        using (var reader = new WalReader(new FileSystem(), dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add))
        {
            while (reader.TryRead(out var record))
            {
                if (record.Kind != RecordKind.Data)
                {
                    otherRecords++;
                    continue;
                }

                if (!IsHelperPayload(record.Payload.Span, out var sequence) || sequence / SequencesPerRun is < 1 or > Runs)
                {
                    damagedPayloads.Add($"{record.Position}: {record.Payload.Length} bytes, {Convert.ToHexString(record.Payload.Span[..Math.Min(16, record.Payload.Length)])}…");
                    continue;
                }

                onDisk[sequence] = onDisk.GetValueOrDefault(sequence) + 1;
                var run = sequence / SequencesPerRun;
                runOf.Add((record.Position, run));
                if (run < previousRun)
                {
                    outOfOrder.Add($"{sequence} (run {run}) at {record.Position} after a record of run {previousRun}");
                }

                previousRun = Math.Max(previousRun, run);
            }
        }

        var missing = reported.Where(s => !onDisk.ContainsKey(s)).Order().ToList();
        var duplicated = onDisk.Where(p => p.Value > 1).Select(p => $"{p.Key}×{p.Value}").ToList();
        output.WriteLine(
            $"totals: {reported.Count} reported, {onDisk.Count} distinct data records on disk ({onDisk.Values.Sum()} in all) in {segments} segments, " +
            $"{otherRecords} gap markers, {damage.Count} damaged ranges ({damage.Count(d => d.Kind == DamageKind.Torn)} torn, " +
            $"{damage.Count(d => d.Kind == DamageKind.Corrupt)} corrupt, {damage.Sum(d => d.Length)} bytes)");

        // SIGKILL cuts short only the appends in flight: per kill, at most one unpublished (torn) record per appender
        // thread. It may lie a few segments back (a thread paused between reserving and publishing while the other
        // rolled on), but never more than that: no corrupt range, and no torn range longer than those records.
        Assert.DoesNotContain(damage, d => d.Kind == DamageKind.Corrupt);
        Assert.All(damage, d => Assert.InRange(d.Length, 1, Threads * RecordFormat.AlignedSize(PayloadBytes)));

        // A range belongs to the run whose records surround it: the record before it, or (at a segment's start) after it.
        long RunOf(DamagedRange range)
        {
            var at = new WalPosition(range.Segment, range.Offset);
            var before = runOf.LastOrDefault(r => r.At < at && r.At.Segment == range.Segment);
            return before != default ? before.Run : runOf.FirstOrDefault(r => r.At > at).Run;
        }

        Assert.All(damage.GroupBy(RunOf), kill => Assert.InRange(kill.Count(), 1, Threads));

        Assert.True(missing.Count == 0, $"{missing.Count} reported appends are not on disk, e.g. {string.Join(", ", missing.Take(10))}");
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} sequences are on disk more than once, e.g. {string.Join(", ", duplicated.Take(10))}");
        Assert.True(damagedPayloads.Count == 0, $"{damagedPayloads.Count} data records have damaged payloads, e.g. {string.Join("; ", damagedPayloads.Take(5))}");
        Assert.True(outOfOrder.Count == 0, $"records of an earlier run read after a later run's: {string.Join("; ", outOfOrder.Take(5))}");
        Assert.True(segments > Runs * 2, $"only {segments} segments: the runs did not roll over segments as intended");
        output.WriteLine($"elapsed {stopwatch.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void Killed_checkpoint_writer_never_leaves_a_position_ahead_of_what_was_saved()
    {
        const int Runs = 10;
        var stopwatch = Stopwatch.StartNew();
        using var dir = new TempDirectory();
        var random = new Random(20_240_918);
        var first = 1L;
        var inFlightLanded = 0;
        for (var run = 1; run <= Runs; run++)
        {
            var target = random.Next(1, 50);
            using var helper = CrashHelperProcess.Start("checkpoint", dir.Path, first);
            helper.WaitForReady();
            helper.WaitUntil(lines => lines.Count > target, $"{target} saves (run {run})");
            helper.Kill();

            var saves = helper.Lines.Skip(1).Select(line => ParseReport(line, 'C')).ToList();
            Assert.Equal(Enumerable.Range(0, saves.Count).Select(i => first + i), saves);
            var lastReported = saves[^1];

            var loaded = new Checkpoint(new FileSystem(), dir.Path).Load();
            var saved = new WalPosition(lastReported, 8 * lastReported);
            var inFlight = new WalPosition(lastReported + 1, 8 * (lastReported + 1));
            Assert.True(
                loaded == saved || loaded == inFlight,
                $"run {run}: after the save of {saved} was reported, the checkpoint loads as {loaded}; expected {saved} or the save in flight, {inFlight}");
            if (loaded == inFlight)
            {
                inFlightLanded++;
            }

            output.WriteLine($"run {run,2}: killed after {saves.Count,3} reported saves (target {target,2}), last reported {lastReported}, loaded {loaded}");
            first = loaded.Segment + 1;
        }

        output.WriteLine($"the save in flight had landed in {inFlightLanded} of {Runs} kills; elapsed {stopwatch.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void A_directory_held_by_a_live_process_cannot_be_opened_until_that_process_dies()
    {
        var stopwatch = Stopwatch.StartNew();
        using var dir = new TempDirectory();
        using var helper = CrashHelperProcess.Start("append", dir.Path, SegmentBytes, 1, 1);
        helper.WaitForReady();

        var refused = Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(Wals.Options(dir.Path)));
        Assert.Equal(helper.Id, refused.HolderProcessId);
        Assert.Equal(dir.Path, refused.Directory);
        Assert.Contains(dir.Path, refused.Message, StringComparison.Ordinal);
        Assert.Contains("process " + helper.Id.ToString(CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal);

        // The refused opener changed nothing for the holder, which keeps appending.
        var before = helper.Lines.Count;
        helper.WaitUntil(lines => lines.Count > before + 100, "more appends after the refused open");
        helper.Kill();

        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path)))
        {
            Assert.True(wal.Append(Wals.Payload(1)));
        }

        output.WriteLine($"refused with: {refused.Message}");
        output.WriteLine($"elapsed {stopwatch.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void Record_a_killed_appender_left_unpublished_is_reported_torn_not_corrupt()
    {
        // The bytes SIGKILL leaves when an appender dies after copying its record but before storing the
        // header word, which RecordFormat.Write stores last: kind and payload in place, header word zero,
        // and a record another thread appended after it. Real kills with more appender threads than
        // cores leave exactly this (the append test above reports such ranges when they occur).
        using var dir = new TempDirectory();
        var bytes = new byte[4096];
        new SegmentHeader(1, bytes.Length, 0).Write(bytes);
        var first = SegmentScanner.FirstRecordOffset;
        var size = RecordFormat.AlignedSize(PayloadBytes);
        RecordFormat.Write(bytes.AsSpan(first), 1, first, RecordKind.Data, HelperPayload(7));
        bytes.AsSpan(first, 8).Clear();
        RecordFormat.Write(bytes.AsSpan(first + size), 1, first + size, RecordKind.Data, HelperPayload(8));
        File.WriteAllBytes(dir.Combine(SegmentNames.FileName(1)), bytes);

        var damage = new List<DamagedRange>();
        using var reader = new WalReader(new FileSystem(), dir.Path, WalPosition.Start, long.MaxValue, onDamage: damage.Add);
        Assert.True(reader.TryRead(out var record));
        Assert.True(IsHelperPayload(record.Payload.Span, out var sequence));
        Assert.Equal(8, sequence);
        Assert.False(reader.TryRead(out _));

        // DamageKind.Torn covers "a reservation abandoned mid-copy"; Corrupt means a once-valid record changed.
        Assert.Equal([new DamagedRange(1, first, size, DamageKind.Torn)], damage);
    }

    private static byte[] HelperPayload(long sequence)
    {
        var payload = new byte[PayloadBytes];
        BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
        payload.AsSpan(8).Fill((byte)sequence);
        return payload;
    }

    private static long ParseReport(string line, char tag)
    {
        if (line.Length < 3 || line[0] != tag || line[1] != ' '
            || !long.TryParse(line.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            Assert.Fail($"Unexpected line from the crash helper: '{line}'");
            return 0;
        }

        return value;
    }

    /// <summary>True when <paramref name="payload"/> is what the crash helper appends: the sequence, then its low byte repeated.</summary>
    private static bool IsHelperPayload(ReadOnlySpan<byte> payload, out long sequence)
    {
        sequence = payload.Length == PayloadBytes ? BinaryPrimitives.ReadInt64LittleEndian(payload) : -1;
        return sequence >= 0 && !payload[8..].ContainsAnyExcept((byte)sequence);
    }
}
