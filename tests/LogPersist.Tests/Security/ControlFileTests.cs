using System.IO.Abstractions;
using LogPersist.Shipping;
using LogPersist.Tests.Cli;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Security;

/// <summary>
/// The control files of a WAL directory (checkpoint, owner record, stream.json, claims, the lock) as
/// another user of a shared volume can leave them: a link to an endless device, a FIFO nobody writes,
/// a huge file, a link to someone's file. Each is refused at once, for its directory only.
/// </summary>
public sealed class ControlFileTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _temp = new();
    private readonly FileSystem _fileSystem = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string> Hostile => ["fifo", "huge", "link"];

    [LinuxTheory]
    [InlineData("fifo")]
    [InlineData("link")]
    public async Task A_hostile_checkpoint_counts_as_none(string kind)
    {
        var directory = Wal("checkpoint");
        Plant(Path.Combine(directory, Checkpoint.FileName), kind, validContent: ValidCheckpoint());

        var position = await Planted.WithinAsync(Limit, () => new Checkpoint(_fileSystem, directory).Load());

        Assert.Equal(WalPosition.Start, position);
    }

    [LinuxTheory]
    [MemberData(nameof(Hostile))]
    public async Task A_hostile_owner_record_is_refused_not_read(string kind)
    {
        var directory = Wal("owner");
        Plant(Path.Combine(directory, OwnerRecord.FileName), kind, validContent: "token=abc\npid=7\npod=intruder\n");

        var error = await Planted.WithinAsync(Limit, () => Record.Exception(() => OwnerRecord.ReadText(_fileSystem, directory)));

        Assert.IsAssignableFrom<IOException>(error);
        Assert.IsNotType<FileNotFoundException>(error);
    }

    [LinuxTheory]
    [MemberData(nameof(Hostile))]
    public async Task A_hostile_stream_description_is_not_used_and_says_why(string kind)
    {
        var directory = Wal("stream");
        Plant(Path.Combine(directory, StreamDescription.FileName), kind, validContent: """{"version":1,"labels":{"pod":"intruder"},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""");

        var (loaded, error) = await Planted.WithinAsync(Limit, () => (StreamDescription.TryLoad(_fileSystem, directory, out _, out var why), why));

        Assert.False(loaded);
        Assert.NotNull(error);
    }

    [LinuxTheory]
    [MemberData(nameof(Hostile))]
    public async Task The_holder_probe_of_inspect_answers_at_once_whatever_the_owner_record_and_lock_are(string kind)
    {
        var directory = Wal("probe");
        Plant(Path.Combine(directory, OwnerRecord.FileName), kind, validContent: "token=abc\npid=7\npod=intruder\n");
        File.Delete(Path.Combine(directory, DirectoryLock.LockFileName));
        Plant(Path.Combine(directory, DirectoryLock.LockFileName), kind, validContent: "");

        var result = await Planted.WithinAsync(Limit, () => CliRunner.RunAsync("inspect", directory, "--json").GetAwaiter().GetResult());

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("intruder", result.Output, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task An_owner_record_linked_to_dev_zero_is_refused_by_inspect_at_once()
    {
        var directory = Wal("zero");
        var owner = Path.Combine(directory, OwnerRecord.FileName);
        File.Delete(owner);
        File.CreateSymbolicLink(owner, "/dev/zero");

        var result = await Planted.WithinAsync(Limit, () => CliRunner.RunAsync("inspect", directory).GetAwaiter().GetResult());

        Assert.Equal(0, result.ExitCode);
        Assert.ThrowsAny<IOException>(() => OwnerRecord.ReadText(_fileSystem, directory));
    }

    [Theory]
    [InlineData("""{"version":1,"labels":{},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""", "labels")]
    [InlineData("""{"version":1,"labels":{"pod":""},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""", "labels")]
    [InlineData("""{"version":1,"labels":{"pod":"a"},"levelLabel":false,"labelProperties":[],"lineFormat":"7","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""", "lineFormat")]
    [InlineData("""{"version":1,"labels":{"pod":"a"},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":-1,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""", "maxLineBytes")]
    [InlineData("""{"version":1,"labels":{"pod":7},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""", "label")]
    [InlineData("""[1,2,3]""", "object")]
    public void A_stream_description_with_invalid_content_is_not_used_and_says_what(string json, string what)
    {
        var directory = _temp.Combine("described");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, StreamDescription.FileName), json);

        Assert.False(StreamDescription.TryLoad(_fileSystem, directory, out _, out var error));
        Assert.Contains(what, error, StringComparison.Ordinal);
    }

    /// <summary>A closed WAL with a few entries, a checkpoint, an owner record and a stream description.</summary>
    private string Wal(string instance)
    {
        var directory = _temp.Combine("default", "orders", instance);
        InspectWals.Write(directory, Enumerable.Range(0, 5).Select(i => InspectWals.Entry(i)));
        using (var wal = WriteAheadLog.Open(Wals.Options(directory, InspectWals.SegmentBytes)))
        {
            using var reader = wal.CreateReader();
            Assert.True(reader.TryRead(out var first));
            Assert.True(wal.Acknowledge(first.Next));
        }

        return directory;
    }

    private void Plant(string path, string kind, string validContent) => Plant(path, kind, System.Text.Encoding.UTF8.GetBytes(validContent));

    private void Plant(string path, string kind, byte[] validContent)
    {
        File.Delete(path);
        switch (kind)
        {
            case "fifo":
                Planted.Fifo(path);
                break;
            case "huge":
                File.WriteAllBytes(path, [.. validContent, .. Enumerable.Repeat((byte)'\n', 4 << 20)]);
                break;
            default:
                var target = _temp.Combine("elsewhere-" + Path.GetFileName(path));
                File.WriteAllBytes(target, validContent);
                File.CreateSymbolicLink(path, target);
                break;
        }
    }

    private static byte[] ValidCheckpoint()
    {
        var bytes = new byte[32];
        Checkpoint.Encode(new WalPosition(1, 64), bytes);
        return bytes;
    }
}
