using System.Diagnostics;
using System.Globalization;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class VolumeInfoTests
{
    [LinuxFact]
    public void Detect_reports_the_magic_and_mount_type_that_stat_and_findmnt_report_for_a_temp_directory()
    {
        using var dir = new TempDirectory();

        // stat prints f_type in hex: the same statfs(2) call, made by another program.
        Assert.True(VolumeInfo.TryReadMagic(dir.Path, out var magic));
        Assert.Equal(uint.Parse(Run("stat", "-f", "-c", "%t", dir.Path), NumberStyles.HexNumber, CultureInfo.InvariantCulture), magic);

        var volume = VolumeInfo.Detect(dir.Path);
        Assert.Equal(VolumeKind.Local, volume.Kind);
        // findmnt reads the mount table on its own: the name of the mount holding the directory.
        Assert.Equal(Run("findmnt", "-n", "-o", "FSTYPE", "-T", dir.Path).Split('\n')[^1].Trim(), volume.FileSystemType);
    }

    [LinuxFact]
    public void Detect_follows_a_symlink_to_the_volume_it_points_into()
    {
        Assert.True(Directory.Exists("/dev/shm"), "Linux mounts a tmpfs at /dev/shm");
        using var dir = new TempDirectory();
        var target = Directory.CreateDirectory(Path.Combine("/dev/shm", $"logpersist-volume-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        try
        {
            var link = dir.Combine("wal");
            Directory.CreateSymbolicLink(link, target.FullName);

            Assert.Equal(new VolumeInfo("tmpfs", VolumeKind.Local), VolumeInfo.Detect(link));
        }
        finally
        {
            target.Delete();
        }
    }

    [LinuxTheory]
    [InlineData("/proc", "proc")]
    [InlineData("/dev/shm", "tmpfs")]
    public void Detect_names_special_local_file_systems_as_stat_does(string directory, string expected)
    {
        Assert.True(Directory.Exists(directory), $"Linux mounts {expected} at {directory}");
        Assert.Equal(expected, Run("stat", "-f", "-c", "%T", directory));
        Assert.Equal(new VolumeInfo(expected, VolumeKind.Local), VolumeInfo.Detect(directory));
    }

    [Theory]
    [InlineData("")]
    [InlineData("relative/that/does/not/exist")]
    [InlineData("/nonexistent-logpersist/wal")]
    [InlineData("bad\0path")]
    public void Detect_of_a_missing_or_invalid_directory_is_unknown_without_throwing(string directory)
    {
        Assert.Equal(new VolumeInfo("unknown", VolumeKind.Unknown), VolumeInfo.Detect(directory));
    }

    [Theory]
    [InlineData(0x6969u, "nfs")]
    [InlineData(0xFF534D42u, "cifs")]
    [InlineData(0xFE534D42u, "smb2")]
    [InlineData(0x517Bu, "smb")]
    [InlineData(0x00C36400u, "ceph")]
    [InlineData(0x65735546u, "fuse")]
    [InlineData(0x01021997u, "9p")]
    public void Magic_of_a_network_file_system_maps_to_network(uint magic, string name)
    {
        Assert.Equal(new VolumeInfo(name, VolumeKind.Network), VolumeInfo.FromMagic(magic));
    }

    [Theory]
    [InlineData(0xEF53u, "ext2/ext3/ext4")]
    [InlineData(0x58465342u, "xfs")]
    [InlineData(0x9123683Eu, "btrfs")]
    [InlineData(0x01021994u, "tmpfs")]
    [InlineData(0x794C7630u, "overlayfs")]
    [InlineData(0x2FC12FC1u, "zfs")]
    public void Magic_of_a_local_file_system_maps_to_local(uint magic, string name)
    {
        Assert.Equal(new VolumeInfo(name, VolumeKind.Local), VolumeInfo.FromMagic(magic));
    }

    [Fact]
    public void Unlisted_magic_is_unknown_and_named_by_its_hex_value()
    {
        Assert.Equal(new VolumeInfo("0x12345678", VolumeKind.Unknown), VolumeInfo.FromMagic(0x12345678));
    }

    [Theory]
    [InlineData("nfs4", "Network")]
    [InlineData("cifs", "Network")]
    [InlineData("smb3", "Network")]
    [InlineData("fuse.sshfs", "Network")]
    [InlineData("fuse.glusterfs", "Network")]
    [InlineData("ceph", "Network")]
    [InlineData("lustre", "Network")]
    [InlineData("9p", "Network")]
    [InlineData("ext4", "Local")]
    [InlineData("overlay", "Local")]
    [InlineData("apfs", "Local")]
    [InlineData("NTFS", "Local")]
    [InlineData("vboxsf", "Unknown")]
    public void Mount_type_names_are_classified(string name, string expected)
    {
        // VolumeKind is internal, so the cases name it.
        Assert.Equal(Enum.Parse<VolumeKind>(expected), VolumeInfo.ClassifyName(name));
    }

    [Fact]
    public void Mount_name_refines_a_known_magic_and_decides_an_unknown_one()
    {
        // statfs cannot tell nfs from nfs4, nor which FUSE file system it is: the mount table can.
        Assert.Equal(new VolumeInfo("nfs4", VolumeKind.Network), VolumeInfo.Combine(VolumeInfo.FromMagic(0x6969), "nfs4"));
        Assert.Equal(new VolumeInfo("fuse.sshfs", VolumeKind.Network), VolumeInfo.Combine(VolumeInfo.FromMagic(0x65735546), "fuse.sshfs"));
        Assert.Equal(new VolumeInfo("ext4", VolumeKind.Local), VolumeInfo.Combine(VolumeInfo.FromMagic(0xEF53), "ext4"));

        // A new magic the table does not list is classified by the mount's name.
        Assert.Equal(new VolumeInfo("nfs4", VolumeKind.Network), VolumeInfo.Combine(VolumeInfo.FromMagic(0x12345678), "nfs4"));

        // When the two disagree the magic decides: a mount table that matched the wrong entry must
        // not turn an NFS volume into a local one.
        Assert.Equal(new VolumeInfo("nfs", VolumeKind.Network), VolumeInfo.Combine(VolumeInfo.FromMagic(0x6969), "ext4"));
        Assert.Equal(new VolumeInfo("nfs", VolumeKind.Network), VolumeInfo.Combine(VolumeInfo.FromMagic(0x6969), null));
    }

    private static readonly string[] MountInfo =
    [
        "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
        "24 23 0:22 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683620k",
        "98 26 0:50 / /mnt/efs rw,relatime shared:40 - nfs4 fs-0123.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1,rsize=1048576,hard,proto=tcp",
        "99 26 0:51 / /mnt/share rw,relatime shared:41 master:7 - cifs //files/logs rw,vers=3.1.1,cache=strict",
        "100 98 0:52 / /mnt/efs/local\\040disk rw,relatime - xfs /dev/vdb rw",
        "101 26 0:53 / /mnt/efs-other rw,relatime - fuse.sshfs user@host:/logs rw,user_id=0",
        "this line is not mountinfo",
        "",
    ];

    [Theory]
    [InlineData("/var/log/app", "ext4")]
    [InlineData("/", "ext4")]
    [InlineData("/dev/shm/wal", "tmpfs")]
    [InlineData("/mnt/efs", "nfs4")]
    [InlineData("/mnt/efs/svc/pod-1", "nfs4")]
    [InlineData("/mnt/share/svc", "cifs")]
    [InlineData("/mnt/efs/local disk/svc", "xfs")]
    [InlineData("/mnt/efs/local diskette", "nfs4")]
    [InlineData("/mnt/efs-other/svc", "fuse.sshfs")]
    public void Mountinfo_longest_mount_point_holding_the_path_wins(string path, string expected)
    {
        Assert.Equal(expected, VolumeInfo.FindMountType(MountInfo, path));
    }

    [Fact]
    public void Mountinfo_of_two_mounts_on_one_point_takes_the_one_on_top()
    {
        string[] lines =
        [
            "26 1 254:0 / / rw - ext4 /dev/vda rw",
            "40 26 0:40 / /data rw - ext4 /dev/vdb rw",
            "41 40 0:41 / /data rw - nfs 10.0.0.2:/export rw,vers=3",
        ];

        Assert.Equal("nfs", VolumeInfo.FindMountType(lines, "/data/wal"));
    }

    [Fact]
    public void Mountinfo_without_a_matching_line_gives_no_type()
    {
        Assert.Null(VolumeInfo.FindMountType(["garbage", "1 2 3 4 5 6 7 8"], "/data"));
    }

    [Theory]
    [InlineData("/mnt/a\\040b", "/mnt/a b")]
    [InlineData("/mnt/tab\\011x", "/mnt/tab\tx")]
    [InlineData("/mnt/back\\134slash", "/mnt/back\\slash")]
    [InlineData("/mnt/plain", "/mnt/plain")]
    [InlineData("/mnt/short\\04", "/mnt/short\\04")]
    public void Mountinfo_octal_escapes_are_decoded(string field, string expected)
    {
        Assert.Equal(expected, VolumeInfo.Unescape(field));
    }

    [Fact]
    public void Durability_note_for_page_cache_differs_between_local_and_network_volumes()
    {
        var local = new VolumeInfo("ext4", VolumeKind.Local).DurabilityNote(WalDurability.PageCache);
        var network = new VolumeInfo("nfs4", VolumeKind.Network).DurabilityNote(WalDurability.PageCache);

        Assert.NotEqual(local, network);
        Assert.Contains("file server", network, StringComparison.Ordinal);
        Assert.Contains("nfs4", network, StringComparison.Ordinal);
        Assert.DoesNotContain("file server", local, StringComparison.Ordinal);
    }

    [Fact]
    public void Durability_note_for_interval_names_the_interval()
    {
        var note = new VolumeInfo("nfs4", VolumeKind.Network).DurabilityNote(WalDurability.Interval, TimeSpan.FromMilliseconds(200));

        Assert.Contains("at most the last sync interval (200 ms)", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Durability_note_of_an_unknown_volume_assumes_the_network_case()
    {
        var unknown = new VolumeInfo("0x1234", VolumeKind.Unknown).DurabilityNote(WalDurability.PageCache);

        Assert.Contains("assuming a network one", unknown, StringComparison.Ordinal);
        Assert.Contains("file server", unknown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Local")]
    [InlineData("Network")]
    [InlineData("Unknown")]
    public void Durability_notes_differ_by_mode(string kind)
    {
        var volume = new VolumeInfo("x", Enum.Parse<VolumeKind>(kind));
        var notes = Enum.GetValues<WalDurability>().Select(d => volume.DurabilityNote(d)).ToArray();

        Assert.Equal(notes.Length, notes.Distinct().Count());
    }

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited with {process.ExitCode}");
        return output.Trim();
    }
}
