using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// Which file a followed file is, across renames and restarts: its device and inode, and a fingerprint
/// of its first bytes, so that an inode the file system reused for a new file is not taken for the old
/// one. Written as <c>DEV:INO:LEN:HASH</c> (the <c>file_id</c> of each entry).
/// </summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode, int FingerprintLength, uint Fingerprint)
{
    /// <summary>Bytes the fingerprint covers once the file is that long.</summary>
    public const int FingerprintBytes = 256;

    /// <summary>Device and inode only: the key of a file while it is open.</summary>
    public (ulong Device, ulong Inode) Node => (Device, Inode);

    /// <summary>True when the fingerprint covers <see cref="FingerprintBytes"/>: long enough to tell a copy of the file.</summary>
    public bool IsFull => FingerprintLength == FingerprintBytes;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Device}:{Inode}:{FingerprintLength}:{Fingerprint:x8}");

    public static bool TryParse(string text, out FileIdentity identity)
    {
        identity = default;
        var parts = text.Split(':');
        if (parts.Length != 4
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var device)
            || !ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || length is < 0 or > FingerprintBytes
            || !uint.TryParse(parts[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hash))
        {
            return false;
        }

        identity = new FileIdentity(device, inode, length, hash);
        return true;
    }

    /// <summary>FNV-1a over <paramref name="bytes"/>: enough to tell two files' first bytes apart, not a defence against anyone.</summary>
    public static uint Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    /// <summary>
    /// The fingerprint of the open file: the hash of its first <paramref name="length"/> bytes, or of as
    /// many as it has up to <see cref="FingerprintBytes"/> when <paramref name="length"/> is null. Null
    /// when the file is shorter than <paramref name="length"/>.
    /// </summary>
    public static (int Length, uint Hash)? FingerprintOf(SafeFileHandle handle, int? length = null)
    {
        Span<byte> buffer = stackalloc byte[FingerprintBytes];
        var want = length ?? FingerprintBytes;
        var total = 0;
        while (total < want)
        {
            var read = RandomAccess.Read(handle, buffer[total..want], total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        if (length is { } exact && total < exact)
        {
            return null;
        }

        return (total, Hash(buffer[..total]));
    }
}

/// <summary>Device, inode and size of a file, from <c>statx(2)</c>: .NET does not expose inodes.</summary>
internal static class FileNodes
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>Device, inode and size of what <paramref name="path"/> names, symlinks followed; null when it is gone.</summary>
    public static (ulong Device, ulong Inode, long Size)? Stat(string path)
    {
        var buffer = new byte[256];
        return Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) == 0 ? Read(buffer) : null;
    }

    /// <summary>Device, inode and size of an open file (which may have been renamed or deleted since).</summary>
    public static (ulong Device, ulong Inode, long Size) Stat(SafeFileHandle handle)
    {
        var buffer = new byte[256];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxBasicStats, buffer) != 0)
            {
                throw new IOException($"statx failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return Read(buffer);
    }

    // struct statx: stx_ino at 32, stx_size at 40, stx_dev_major at 136, stx_dev_minor at 140.
    private static (ulong Device, ulong Inode, long Size) Read(byte[] buffer)
    {
        var inode = BitConverter.ToUInt64(buffer, 32);
        var size = BitConverter.ToInt64(buffer, 40);
        var device = ((ulong)BitConverter.ToUInt32(buffer, 136) << 32) | BitConverter.ToUInt32(buffer, 140);
        return (device, inode, size);
    }

    // DllImport with a managed buffer: the tool stays free of unsafe code.
    [DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int directory, string path, int flags, uint mask, [Out] byte[] buffer);
}
