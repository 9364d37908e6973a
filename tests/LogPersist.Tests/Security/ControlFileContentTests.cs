using System.IO.Abstractions;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Security;

/// <summary>What a control file must be before it is believed: a small regular file with content in bounds.</summary>
public sealed class ControlFileContentTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _temp = new();
    private readonly FileSystem _fileSystem = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public async Task Every_control_file_linked_to_dev_zero_is_refused_at_once()
    {
        var directory = _temp.Combine("default", "orders", "zeros");
        Wals.Fill(directory, 3, 4096);
        foreach (var name in new[] { Checkpoint.FileName, OwnerRecord.FileName, StreamDescription.FileName })
        {
            File.Delete(Path.Combine(directory, name));
            File.CreateSymbolicLink(Path.Combine(directory, name), "/dev/zero");
        }

        var area = Path.Combine(Path.GetDirectoryName(directory)!, AdoptionArea.DirectoryName);
        Directory.CreateDirectory(area);
        var claim = Path.Combine(area, AdoptionArea.ClaimName("zeros", 1));
        File.CreateSymbolicLink(claim, "/dev/zero");

        await Planted.WithinAsync(Limit, () =>
        {
            Assert.Equal(WalPosition.Start, new Checkpoint(_fileSystem, directory).Load());
            Assert.Throws<UntrustedFileException>(() => OwnerRecord.ReadText(_fileSystem, directory));
            Assert.False(StreamDescription.TryLoad(_fileSystem, directory, out _, out var error));
            Assert.Contains("symbolic link", error, StringComparison.Ordinal);
            Assert.Throws<UntrustedFileException>(() => AdoptionClaim.Read(_fileSystem, claim));
            var holder = WalHolder.Probe(directory);
            Assert.Null(holder.Record);
            Assert.Contains("symbolic link", holder.RecordProblem, StringComparison.Ordinal);
            return true;
        });
    }

    [LinuxFact]
    public void A_control_file_of_more_than_64_KiB_is_refused_and_one_of_64_KiB_is_read()
    {
        var path = _temp.Combine("control");
        File.WriteAllBytes(path, new byte[ControlFile.MaxBytes]);
        Assert.Equal(ControlFile.MaxBytes, ControlFile.Read(_fileSystem, path)!.Length);

        File.WriteAllBytes(path, new byte[ControlFile.MaxBytes + 1]);
        var error = Assert.Throws<UntrustedFileException>(() => ControlFile.Read(_fileSystem, path));
        Assert.Contains("64 KiB", error.Message, StringComparison.Ordinal);
        Assert.Null(ControlFile.Read(_fileSystem, _temp.Combine("missing")));
    }

    [Fact]
    public void An_owner_record_out_of_bounds_is_invalid_and_says_which_field()
    {
        Assert.False(OwnerRecord.TryParse("token=a\nepoch=9223372036854775807\n", out _, out var epoch));
        Assert.Contains("epoch", epoch, StringComparison.Ordinal);
        Assert.False(OwnerRecord.TryParse("token=a\nlease_seconds=-5\n", out _, out var lease));
        Assert.Contains("lease_seconds", lease, StringComparison.Ordinal);
        Assert.False(OwnerRecord.TryParse("token=a\nstate=zombie\n", out _, out var state));
        Assert.Contains("state", state, StringComparison.Ordinal);
        Assert.False(OwnerRecord.TryParse("pid=1\n", out _, out var token));
        Assert.Contains("token", token, StringComparison.Ordinal);
        Assert.False(OwnerRecord.TryParse("token=a\n\u0000\u0001garbage\n", out _, out _));
        Assert.True(OwnerRecord.TryParse("token=a\nlease_seconds=86400\nfuture_field=1\n", out var record, out _));
        Assert.Equal(LeaseOptions.MaxHonoured, record.HonouredLease);
    }
}
