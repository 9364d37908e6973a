using System.Globalization;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;

namespace LogPersist.Wal;

/// <summary>Where the bytes of a directory live, as far as durability is concerned.</summary>
internal enum VolumeKind
{
    /// <summary>A disk (or memory) of this node: a sync makes data durable on this node.</summary>
    Local,

    /// <summary>
    /// A file server reached over the network (NFS, SMB, CephFS, ...), or a FUSE file system, which
    /// is counted here because it may be one: data is durable only once it has reached the server.
    /// </summary>
    Network,

    /// <summary>The file system could not be identified.</summary>
    Unknown,
}

/// <summary>
/// The file system type of a directory and whether it is local or network storage, so that the WAL
/// can say which durability a <see cref="WalDurability"/> mode really gives there. Diagnostics
/// only: detection never throws, and any failure yields <see cref="VolumeKind.Unknown"/>.
/// </summary>
internal sealed partial record VolumeInfo(string FileSystemType, VolumeKind Kind)
{
    private const int Eintr = 4;
    private const int StatfsBufferBytes = 256; // struct statfs is 120 bytes on 64-bit Linux
    private const int PathMax = 4096;
    private const string MountInfoPath = "/proc/self/mountinfo";

    private static readonly VolumeInfo Undetected = new("unknown", VolumeKind.Unknown);

    // f_type values from linux/magic.h and the file systems' own headers. statfs cannot tell
    // ext2, ext3 and ext4 apart; mountinfo supplies the precise name when it is readable.
    private static readonly Dictionary<uint, VolumeInfo> Magics = new()
    {
        [0x6969] = new("nfs", VolumeKind.Network),
        [0x517B] = new("smb", VolumeKind.Network),
        [0xFE534D42] = new("smb2", VolumeKind.Network),
        [0xFF534D42] = new("cifs", VolumeKind.Network),
        [0x00C36400] = new("ceph", VolumeKind.Network),
        [0x65735546] = new("fuse", VolumeKind.Network),
        [0x0BD00BD0] = new("lustre", VolumeKind.Network),
        [0x47504653] = new("gpfs", VolumeKind.Network),
        [0x01021997] = new("9p", VolumeKind.Network),
        [0x5346414F] = new("afs", VolumeKind.Network),
        [0x6B414653] = new("afs", VolumeKind.Network),
        [0x7461636F] = new("ocfs2", VolumeKind.Network),
        [0x01161970] = new("gfs2", VolumeKind.Network),
        [0x73757245] = new("coda", VolumeKind.Network),
        [0xEF53] = new("ext2/ext3/ext4", VolumeKind.Local),
        [0x58465342] = new("xfs", VolumeKind.Local),
        [0x9123683E] = new("btrfs", VolumeKind.Local),
        [0x01021994] = new("tmpfs", VolumeKind.Local),
        [0x858458F6] = new("ramfs", VolumeKind.Local),
        [0x794C7630] = new("overlayfs", VolumeKind.Local),
        [0x2FC12FC1] = new("zfs", VolumeKind.Local),
        [0xF2F52010] = new("f2fs", VolumeKind.Local),
        [0xCA451A4E] = new("bcachefs", VolumeKind.Local),
        [0x3153464A] = new("jfs", VolumeKind.Local),
        [0x52654973] = new("reiserfs", VolumeKind.Local),
        [0x4D44] = new("vfat", VolumeKind.Local),
        [0x2011BAB0] = new("exfat", VolumeKind.Local),
        [0x5346544E] = new("ntfs", VolumeKind.Local),
        [0x73717368] = new("squashfs", VolumeKind.Local),
        [0x9660] = new("isofs", VolumeKind.Local),
        [0x9FA0] = new("proc", VolumeKind.Local),
        [0x62656572] = new("sysfs", VolumeKind.Local),
    };

    // Names as mountinfo (Linux) or statfs f_fstypename / DriveFormat (macOS, Windows) spell them.
    private static readonly string[] NetworkNamePrefixes =
        ["nfs", "cifs", "smb", "ceph", "fuse", "glusterfs", "lustre", "9p", "afs", "ocfs2", "gfs2", "gpfs", "coda", "afpfs", "webdav"];

    private static readonly HashSet<string> LocalNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "overlay", "overlayfs", "zfs", "f2fs", "bcachefs",
        "jfs", "reiserfs", "vfat", "msdos", "exfat", "ntfs", "ntfs3", "squashfs", "iso9660", "proc", "sysfs",
        "devtmpfs", "apfs", "hfs", "refs", "fat32", "fat",
    };

    /// <summary>
    /// Identifies the file system holding <paramref name="directory"/>, which must exist. Never throws.
    /// </summary>
    public static VolumeInfo Detect(string directory)
    {
        try
        {
            if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
            {
                return Undetected;
            }

            if (OperatingSystem.IsLinux())
            {
                return DetectLinux(directory);
            }

            return OperatingSystem.IsWindows() ? DetectWindows(directory) : DetectFromDriveInfo(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SecurityException or ArgumentException
            or NotSupportedException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return Undetected;
        }
    }

    /// <summary>
    /// One line on what <paramref name="durability"/> gives on this volume: what a process kill and a
    /// loss of the node keep. <paramref name="flushInterval"/> is the sync period of
    /// <see cref="WalDurability.Interval"/>, named in its note when given.
    /// </summary>
    public string DurabilityNote(WalDurability durability, TimeSpan? flushInterval = null)
    {
        var interval = flushInterval is { } value
            ? $"the last sync interval ({value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms)"
            : "the last sync interval";
        return Kind switch
        {
            VolumeKind.Local => durability switch
            {
                WalDurability.PageCache =>
                    "local disk: survives a process kill; a node crash loses what the kernel had not yet written back to the disk (typically up to about 30 s)",
                WalDurability.Interval =>
                    $"local disk: survives a process kill; a node crash loses at most {interval}",
                WalDurability.Always =>
                    "local disk: every append is on the disk before the call returns; a node crash loses nothing that was logged",
                _ => $"local disk: unknown durability mode {durability}",
            },
            _ => (Kind == VolumeKind.Network ? $"network file system ({FileSystemType}): " : "unidentified file system, assuming a network one: ")
                + durability switch
                {
                    WalDurability.PageCache =>
                        "survives a process kill, as the node's kernel still sends the data to the file server (other nodes see entries only then); "
                        + "a node loss loses what had not reached the server, up to the write-back delay (about 30 s)",
                    WalDurability.Interval =>
                        $"survives a process kill; each sync sends the WAL to the file server, so a node loss loses at most {interval}, "
                        + "and another node sees entries up to the last sync",
                    WalDurability.Always =>
                        "every append reaches the file server before the call returns (a network round trip per group commit); "
                        + "a node loss loses nothing that was logged",
                    _ => $"unknown durability mode {durability}",
                },
        };
    }

    /// <summary>Maps a statfs f_type to a named volume; an unlisted magic is Unknown, named by its hex value.</summary>
    internal static VolumeInfo FromMagic(uint magic) =>
        Magics.TryGetValue(magic, out var known)
            ? known
            : new VolumeInfo("0x" + magic.ToString("X", CultureInfo.InvariantCulture), VolumeKind.Unknown);

    /// <summary>Classifies a file system name (nfs4, cifs, fuse.sshfs, ext4, apfs, ...).</summary>
    internal static VolumeKind ClassifyName(string name)
    {
        foreach (var prefix in NetworkNamePrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return VolumeKind.Network;
            }
        }

        return LocalNames.Contains(name) ? VolumeKind.Local : VolumeKind.Unknown;
    }

    /// <summary>
    /// Joins what statfs and mountinfo say. The magic is trusted for the kind; the mount's name, being
    /// more precise (nfs4, fuse.sshfs, ext4), is used when it agrees, and decides when the magic is unknown.
    /// </summary>
    internal static VolumeInfo Combine(VolumeInfo fromMagic, string? mountType)
    {
        if (string.IsNullOrEmpty(mountType))
        {
            return fromMagic;
        }

        var mountKind = ClassifyName(mountType);
        if (fromMagic.Kind == VolumeKind.Unknown)
        {
            return new VolumeInfo(mountType, mountKind);
        }

        return mountKind == fromMagic.Kind ? new VolumeInfo(mountType, fromMagic.Kind) : fromMagic;
    }

    /// <summary>
    /// The file system type of the mount holding <paramref name="path"/> (absolute, symlinks resolved),
    /// from /proc/self/mountinfo lines: the longest mount point that is a prefix of the path; of
    /// several mounts on one point, the last (the one on top). Null when no line matches.
    /// </summary>
    internal static string? FindMountType(IEnumerable<string> mountInfoLines, string path)
    {
        string? type = null;
        var bestLength = -1;
        foreach (var line in mountInfoLines)
        {
            // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
            var fields = line.Split(' ');
            if (fields.Length < 9)
            {
                continue;
            }

            var separator = Array.IndexOf(fields, "-", 6);
            if (separator < 0 || separator + 1 >= fields.Length)
            {
                continue;
            }

            var mountPoint = Unescape(fields[4]);
            if (mountPoint.Length >= bestLength && IsUnder(path, mountPoint))
            {
                bestLength = mountPoint.Length;
                type = Unescape(fields[separator + 1]);
            }
        }

        return type;
    }

    /// <summary>
    /// Decodes mountinfo's octal escapes. The kernel escapes only space (\040), tab (\011), newline
    /// (\012) and backslash (\134), all ASCII, so each escape is one char.
    /// </summary>
    internal static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    private static bool IsUnder(string path, string mountPoint) =>
        mountPoint == "/"
        || (path.StartsWith(mountPoint, StringComparison.Ordinal)
            && (path.Length == mountPoint.Length || path[mountPoint.Length] == '/'));

    private static VolumeInfo DetectLinux(string directory)
    {
        if (!TryReadMagic(directory, out var magic))
        {
            return Undetected;
        }

        var fromMagic = FromMagic(magic);
        string? mountType = null;
        if (File.Exists(MountInfoPath))
        {
            mountType = FindMountType(File.ReadLines(MountInfoPath), ResolvePath(directory));
        }

        return Combine(fromMagic, mountType);
    }

    /// <summary>The f_type statfs(2) reports for <paramref name="path"/> (Linux only).</summary>
    internal static unsafe bool TryReadMagic(string path, out uint magic)
    {
        magic = 0;
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        // f_type (__fsword_t, a machine word) is the first field; the buffer covers the whole struct.
        var buffer = stackalloc byte[StatfsBufferBytes];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (StatFs(path, buffer) == 0)
            {
                magic = unchecked((uint)*(nint*)buffer);
                return true;
            }

            if (Marshal.GetLastPInvokeError() != Eintr)
            {
                return false;
            }
        }

        return false;
    }

    private static unsafe string ResolvePath(string directory)
    {
        var full = Path.GetFullPath(directory);
        var buffer = stackalloc byte[PathMax];
        var resolved = RealPath(full, buffer);
        return resolved == null ? full : Marshal.PtrToStringUTF8((nint)resolved) ?? full;
    }

    private static VolumeInfo DetectWindows(string directory)
    {
        var root = Path.GetPathRoot(Path.GetFullPath(directory));
        if (string.IsNullOrEmpty(root))
        {
            return Undetected;
        }

        // DriveInfo refuses UNC roots; a \\server\share path is a network share by definition.
        if (root.StartsWith(@"\\", StringComparison.Ordinal) && !root.StartsWith(@"\\?\", StringComparison.Ordinal))
        {
            return new VolumeInfo("unc", VolumeKind.Network);
        }

        return DetectFromDriveInfo(root);
    }

    /// <summary>
    /// macOS and Windows: DriveInfo reports the file system name (statfs f_fstypename on macOS) and
    /// whether the runtime knows it as a network drive.
    /// </summary>
    private static VolumeInfo DetectFromDriveInfo(string path)
    {
        var drive = new DriveInfo(path);
        var type = drive.DriveType;
        var name = drive.IsReady ? drive.DriveFormat : "unknown";
        return type switch
        {
            DriveType.Network => new VolumeInfo(name, VolumeKind.Network),
            DriveType.Fixed or DriveType.Ram or DriveType.Removable or DriveType.CDRom => new VolumeInfo(name, VolumeKind.Local),
            _ => new VolumeInfo(name, ClassifyName(name)),
        };
    }

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial int StatFs(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial byte* RealPath(string path, byte* resolved);
}
