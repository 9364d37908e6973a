using System.IO.Abstractions;
using System.Runtime.CompilerServices;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Security;

/// <summary>
/// Files that replace a WAL file whole are written to a temporary file first. A link planted under a
/// name that could be guessed must never be written through: the file it points to stays as it was.
/// </summary>
public sealed class TemporaryFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FileSystem _fileSystem = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public void A_planted_checkpoint_tmp_link_is_not_written_through_when_the_checkpoint_is_saved()
    {
        var victim = Planted.Victim(_temp);
        using var wal = WriteAheadLog.Open(Wals.Options(_temp.Combine("wal")));
        File.CreateSymbolicLink(Path.Combine(wal.Directory, Checkpoint.TemporaryFileName), victim);
        wal.Append(Wals.Payload(1));
        using var reader = wal.CreateReader();
        Assert.True(reader.TryRead(out var record));

        Assert.True(wal.Acknowledge(record.Next));

        Planted.AssertUntouched(victim);
        Assert.Equal(record.Next, new Checkpoint(_fileSystem, wal.Directory).Load());
    }

    [LinuxFact]
    public void A_planted_link_under_the_next_segments_temporary_name_is_not_written_through()
    {
        var victim = Planted.Victim(_temp);
        using var wal = WriteAheadLog.Open(Wals.Options(_temp.Combine("wal"), segmentBytes: 8192));
        var next = Path.Combine(wal.Directory, SegmentNames.FileName(wal.FirstLiveSegment + 1) + SegmentNames.TemporarySuffix);
        File.CreateSymbolicLink(next, victim);

        for (var i = 0; i < 100; i++)
        {
            Assert.True(wal.Append(Wals.Payload(i, 200)));
        }

        Planted.AssertUntouched(victim);
        Assert.True(File.Exists(Path.Combine(wal.Directory, SegmentNames.FileName(wal.FirstLiveSegment + 1))));
    }

    [LinuxFact]
    public void A_planted_link_under_the_owner_records_temporary_name_is_not_written_through_at_renewal()
    {
        var victim = Planted.Victim(_temp);
        using var wal = WriteAheadLog.Open(Wals.Options(_temp.Combine("wal")));
        File.CreateSymbolicLink(Path.Combine(wal.Directory, OwnerRecord.FileName + "." + wal.Owner.Token + ".tmp"), victim);

        wal.RenewLease();

        Planted.AssertUntouched(victim);
        Assert.False(wal.IsFenced);
        Assert.Equal(wal.Owner.Token, OwnerRecord.Parse(File.ReadAllText(Path.Combine(wal.Directory, OwnerRecord.FileName))).Token);
    }

    [LinuxFact]
    public void A_planted_stream_json_tmp_link_is_not_written_through_when_the_description_is_saved()
    {
        var victim = Planted.Victim(_temp);
        var directory = _temp.Combine("wal");
        Directory.CreateDirectory(directory);
        File.CreateSymbolicLink(Path.Combine(directory, StreamDescription.FileName + ".tmp"), victim);
        var description = StreamDescription.FromPath(directory);

        description.Save(_fileSystem, directory);

        Planted.AssertUntouched(victim);
        Assert.True(StreamDescription.TryLoad(_fileSystem, directory, out var saved, out _));
        Assert.Equal(description.Labels.Text, saved.Labels.Text);
    }

    [LinuxFact]
    public void A_planted_link_under_the_start_up_probes_name_is_not_written_through()
    {
        var victim = Planted.Victim(_temp);
        var root = _temp.Combine("root");
        Directory.CreateDirectory(root);
        File.CreateSymbolicLink(Path.Combine(root, ".logpersist-probe-" + Environment.ProcessId), victim);

        Assert.True(CanWrite(null, _fileSystem, root));

        Planted.AssertUntouched(victim);
        Assert.Equal([".logpersist-probe-" + Environment.ProcessId], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName));
    }

    [Fact]
    public void Opening_a_WAL_removes_its_own_leftover_temporaries_and_nothing_else()
    {
        var directory = _temp.Combine("wal");
        WriteAheadLog.Open(Wals.Options(directory)).Dispose();
        var leftover = Path.Combine(directory, Checkpoint.TemporaryFileName);
        File.WriteAllBytes(leftover, new byte[32]);
        var notes = Path.Combine(directory, "notes.tmp");
        File.WriteAllText(notes, "mine");

        using var wal = WriteAheadLog.Open(Wals.Options(directory));

        Assert.False(File.Exists(leftover));
        Assert.Equal("mine", File.ReadAllText(notes));
    }

    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "CanWrite")]
    private static extern bool CanWrite(PipelineSettings? settings, IFileSystem fileSystem, string directory);
}
