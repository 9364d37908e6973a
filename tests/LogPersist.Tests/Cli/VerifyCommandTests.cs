using System.Text.Json;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Cli;

public sealed class VerifyCommandTests
{
    [Fact]
    public async Task Verify_passes_a_clean_wal_including_records_before_the_checkpoint()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 200).Select(i => InspectWals.Entry(i)));
        InspectWals.SaveCheckpoint(dir.Path, InspectWals.Records(dir.Path)[150].Position);
        var before = InspectWals.Snapshot(dir.Path);

        var result = await CliRunner.RunAsync("verify", dir.Path);
        var json = await CliRunner.RunAsync("verify", dir.Path, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("OK: ", result.Output);
        Assert.Contains("200 valid records", result.Output);
        Assert.Equal(0, json.ExitCode);
        var root = JsonDocument.Parse(json.Output).RootElement;
        Assert.True(root.GetProperty("clean").GetBoolean());
        Assert.Equal(200, root.GetProperty("recordsValid").GetInt64());
        Assert.Empty(root.GetProperty("damage").EnumerateArray());
        Assert.Equal(before, InspectWals.Snapshot(dir.Path));
    }

    [Fact]
    public async Task Verify_reports_a_flipped_byte_and_a_truncated_segment_with_their_offsets_and_fails()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 200).Select(i => InspectWals.Entry(i)));
        // Acknowledged past both damaged places: verify checks shipped records too.
        InspectWals.SaveCheckpoint(dir.Path, InspectWals.Records(dir.Path)[^1].Position);
        var records = InspectWals.Records(dir.Path);
        var victim = records.Where(r => r.Position.Segment == 1).ElementAt(2);
        var victimSize = RecordFormat.AlignedSize(victim.Payload.Length);
        var segment1 = InspectWals.SegmentPath(dir.Path, 1);
        var bytes = File.ReadAllBytes(segment1);
        bytes[victim.Position.Offset + RecordFormat.HeaderSize + 5] ^= 0x40;
        File.WriteAllBytes(segment1, bytes);
        var cutRecord = records.Where(r => r.Position.Segment == 2).ElementAt(4);
        var cutAt = cutRecord.Position.Offset + RecordFormat.HeaderSize + 4;
        using (var stream = new FileStream(InspectWals.SegmentPath(dir.Path, 2), FileMode.Open))
        {
            stream.SetLength(cutAt);
        }

        var result = await CliRunner.RunAsync("verify", dir.Path);
        var json = await CliRunner.RunAsync("verify", dir.Path, "--json");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("DAMAGED: 3 ranges", result.Output);
        Assert.Matches($@"\│\s*1\s*│\s*{victim.Position.Offset}\s*│\s*{victimSize}\s*│\s*corrupt\s*│\s*~1\s*│", result.Output);
        Assert.Equal(1, json.ExitCode);
        var root = JsonDocument.Parse(json.Output).RootElement;
        Assert.False(root.GetProperty("clean").GetBoolean());
        var damage = root.GetProperty("damage").EnumerateArray()
            .Select(d => (Segment: d.GetProperty("segment").GetInt64(), Offset: d.GetProperty("offset").GetInt64(), Length: d.GetProperty("length").GetInt64(), Kind: d.GetProperty("kind").GetString(), Records: d.GetProperty("recordsEstimate")))
            .ToList();
        Assert.Equal(3, damage.Count);
        Assert.Equal((1L, victim.Position.Offset, (long)victimSize, "corrupt"), (damage[0].Segment, damage[0].Offset, damage[0].Length, damage[0].Kind));
        Assert.Equal(1, damage[0].Records.GetInt64());
        // The cut record's remains (one record), then the rest of the segment the header says was there (unknown).
        Assert.Equal((2L, cutRecord.Position.Offset, "truncated"), (damage[1].Segment, damage[1].Offset, damage[1].Kind));
        Assert.Equal(1, damage[1].Records.GetInt64());
        Assert.Equal((2L, "truncated"), (damage[2].Segment, damage[2].Kind));
        Assert.Equal(InspectWals.SegmentBytes, damage[2].Offset + damage[2].Length);
        Assert.Equal(JsonValueKind.Null, damage[2].Records.ValueKind);
    }

    [Fact]
    public async Task Verify_reports_a_bad_segment_header_as_damage_and_still_checks_its_records()
    {
        using var dir = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 50).Select(i => InspectWals.Entry(i)));
        var path = InspectWals.SegmentPath(dir.Path, 1);
        var bytes = File.ReadAllBytes(path);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        var result = await CliRunner.RunAsync("verify", dir.Path, "--json");

        Assert.Equal(1, result.ExitCode);
        var root = JsonDocument.Parse(result.Output).RootElement;
        Assert.Equal([(1L, "invalid")], root.GetProperty("headerProblems").EnumerateArray().Select(h => (h.GetProperty("segment").GetInt64(), h.GetProperty("problem").GetString())));
        Assert.Equal(50, root.GetProperty("recordsValid").GetInt64());
    }

    [Fact]
    public async Task Verify_treats_an_unfinished_append_of_a_live_writer_as_in_progress_and_the_same_bytes_in_a_closed_copy_as_torn()
    {
        using var dir = new TempDirectory();
        using var copy = new TempDirectory();
        InspectWals.Write(dir.Path, Enumerable.Range(0, 20).Select(i => InspectWals.Entry(i)));
        using (var wal = InspectWals.OpenHeld(dir.Path))
        {
            InspectWals.Append(wal, Enumerable.Range(20, 3).Select(i => InspectWals.Entry(i)));
            var live = InspectWals.Segments(dir.Path)[^1];
            var tail = InspectWals.Records(dir.Path).Last(r => r.Position.Segment == live).Next;
            // An appender reserved the slot at the tail and is still copying: payload bytes, no header yet.
            using (var stream = new FileStream(InspectWals.SegmentPath(dir.Path, live), FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                stream.Position = tail.Offset + RecordFormat.HeaderSize;
                stream.Write([1, 2, 3, 4, 5, 6, 7, 8]);
            }

            foreach (var file in Directory.GetFiles(dir.Path).Where(f => Path.GetFileName(f) != DirectoryLock.LockFileName))
            {
                File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
            }

            var held = await CliRunner.RunAsync("verify", dir.Path, "--json");
            var heldText = await CliRunner.RunAsync("verify", dir.Path);

            Assert.Equal(0, held.ExitCode);
            var inProgress = JsonDocument.Parse(held.Output).RootElement.GetProperty("inProgress").EnumerateArray().Single();
            Assert.Equal((live, tail.Offset), (inProgress.GetProperty("segment").GetInt64(), inProgress.GetProperty("offset").GetInt64()));
            Assert.Equal(0, heldText.ExitCode);
            Assert.Contains($"segment {live}: append in progress from offset {tail.Offset}", heldText.Output);
        }

        var closed = await CliRunner.RunAsync("verify", copy.Path, "--json");

        Assert.Equal(1, closed.ExitCode);
        var torn = JsonDocument.Parse(closed.Output).RootElement.GetProperty("damage").EnumerateArray().Single();
        Assert.Equal("torn", torn.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Verify_of_a_missing_directory_is_a_usage_error()
    {
        using var dir = new TempDirectory();

        var result = await CliRunner.RunAsync("verify", dir.Combine("missing"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("does not exist", result.Error);
    }
}
