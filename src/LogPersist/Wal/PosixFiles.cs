using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LogPersist.Wal;

/// <summary>What kind of file a path or handle names, as far as LogPersist needs to know.</summary>
internal enum FileKind : byte
{
    Regular,
    Directory,
    SymbolicLink,

    /// <summary>A FIFO, socket or device: never a WAL file, and opening one may block or never end.</summary>
    Special,
}

/// <summary>What <c>statx(2)</c> says about a file: its kind, permission bits, owner and size.</summary>
internal readonly record struct FileFacts(FileKind Kind, UnixFileMode Mode, uint OwnerId, uint GroupId, long Size);

/// <summary>
/// The Linux system calls that <see cref="System.IO"/> cannot express: opening without following a
/// symbolic link (<c>O_NOFOLLOW</c>) and without blocking on a FIFO (<c>O_NONBLOCK</c>), asking an
/// open handle what it is (<c>statx</c> on the descriptor, so there is no gap between the check and
/// the use), and the process's own user and groups. Only called where <see cref="IsSupported"/>.
/// </summary>
internal static partial class PosixFiles
{
    private const int ReadOnly = 0;
    private const int ReadWrite = 2;
    private const int NonBlocking = 0x800;
    private const int CloseOnExec = 0x80000;
    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxBytes = 256;
    private const int LockShared = 1;
    private const int LockNonBlocking = 4;

    // arm, arm64 and powerpc number these two flags differently from the generic (x86, riscv, s390) layout.
    private static readonly bool s_armLayout = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le;
    private static readonly int s_directoryOnly = s_armLayout ? 0x4000 : 0x10000;
    private static readonly int s_noFollow = s_armLayout ? 0x8000 : 0x20000;

    /// <summary>Linux: the no-follow opens and <c>statx</c> are available. Elsewhere callers fall back to checks through <see cref="FileSystemInfo"/>.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// Opens <paramref name="path"/> read-only, following symbolic links, without blocking (a FIFO opens
    /// at once) and without the advisory lock .NET's own opens take: a reader of someone else's files
    /// must not make their writer's exclusive open fail. The caller checks what it opened
    /// (<see cref="Stat(SafeFileHandle)"/>). Throws <see cref="FileNotFoundException"/>,
    /// <see cref="UnauthorizedAccessException"/> or <see cref="IOException"/>.
    /// </summary>
    public static SafeFileHandle OpenToRead(string path)
    {
        var handle = Open(path, ReadOnly | NonBlocking | CloseOnExec);
        if (!handle.IsInvalid)
        {
            return handle;
        }

        var errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        throw errno switch
        {
            2 or 20 => new FileNotFoundException($"'{path}' does not exist.", path),
            1 or 13 => new UnauthorizedAccessException($"Access to '{path}' is denied."),
            _ => new IOException($"'{path}' cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}", errno),
        };
    }

    /// <summary>
    /// Opens <paramref name="path"/> (read-only unless <paramref name="write"/>) without following a
    /// symbolic link in its last component and without blocking (a FIFO opens at once). Throws
    /// <see cref="FileNotFoundException"/> when it is missing, <see cref="UntrustedFileException"/> when
    /// it is a symbolic link, and the usual <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> otherwise.
    /// </summary>
    public static SafeFileHandle OpenNoFollow(string path, bool directory = false, bool write = false)
    {
        var flags = (write ? ReadWrite : ReadOnly) | NonBlocking | CloseOnExec | s_noFollow | (directory ? s_directoryOnly : 0);
        var handle = Open(path, flags);
        if (!handle.IsInvalid)
        {
            return handle;
        }

        var errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        if (errno is 20 or 40 && directory && StatNoFollow(path) is { Kind: FileKind.SymbolicLink })
        {
            // O_DIRECTORY with O_NOFOLLOW answers ENOTDIR for a link: say what it is.
            errno = 40;
        }

        throw errno switch
        {
            2 => new FileNotFoundException($"'{path}' does not exist.", path),
            40 => new UntrustedFileException($"'{path}' is a symbolic link; LogPersist never follows links inside its directories."),
            20 when directory => new UntrustedFileException($"'{path}' is not a directory."),
            1 or 13 => new UnauthorizedAccessException($"Access to '{path}' is denied."),
            _ => new IOException($"'{path}' cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}", errno),
        };
    }

    /// <summary>What the open <paramref name="handle"/> is.</summary>
    public static FileFacts Stat(SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, "an open file");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>What <paramref name="path"/> itself is, a symbolic link not followed; null when it does not exist.</summary>
    public static FileFacts? StatNoFollow(string path)
    {
        try
        {
            return Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Takes and at once drops a shared <c>flock</c> on <paramref name="handle"/>: false when another
    /// process holds the file's exclusive lock (a writer holds its WAL directory).
    /// </summary>
    public static bool CanLockShared(SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Flock((int)handle.DangerousGetHandle(), LockShared | LockNonBlocking) == 0)
            {
                // Closing the handle releases it; nothing else of this process shares the descriptor.
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            return errno == 11 ? false : throw new IOException("flock failed: " + Marshal.GetPInvokeErrorMessage(errno), errno);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Sets the permission bits of the open <paramref name="handle"/> (a file or a directory).</summary>
    public static void ChangeMode(SafeFileHandle handle, UnixFileMode mode)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Fchmod((int)handle.DangerousGetHandle(), (uint)mode) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new UnauthorizedAccessException("Changing the mode failed: " + Marshal.GetPInvokeErrorMessage(errno));
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The process's effective user id.</summary>
    public static uint EffectiveUserId => GetEffectiveUserId();

    /// <summary>Whether <paramref name="groupId"/> is the process's effective group or one of its supplementary groups (a pod's <c>fsGroup</c> is one).</summary>
    public static unsafe bool IsOwnGroup(uint groupId)
    {
        if (GetEffectiveGroupId() == groupId)
        {
            return true;
        }

        var count = GetGroups(0, null);
        if (count <= 0)
        {
            return false;
        }

        var groups = new uint[count];
        fixed (uint* list = groups)
        {
            count = GetGroups(count, list);
        }

        return count > 0 && groups.AsSpan(0, count).Contains(groupId);
    }

    private static unsafe FileFacts Statx(int directory, string path, int flags, string what)
    {
        var buffer = stackalloc byte[StatxBytes];
        if (Statx(directory, path, flags, StatxBasicStats, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                2 or 20 => new FileNotFoundException($"'{what}' does not exist.", what),
                1 or 13 => new UnauthorizedAccessException($"Access to '{what}' is denied."),
                _ => new IOException($"statx of '{what}' failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno),
            };
        }

        // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (16 bits) at 28, stx_size at 40.
        var mode = *(ushort*)(buffer + 28);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Special,
        };
        return new FileFacts(kind, (UnixFileMode)(mode & 0xFFF), *(uint*)(buffer + 20), *(uint*)(buffer + 24), *(long*)(buffer + 40));
    }

    /// <summary>
    /// Faults in <paramref name="length"/> bytes of a shared writable mapping for writing in one call
    /// (<c>madvise(MADV_POPULATE_WRITE)</c>, Linux 5.14), much cheaper than a fault per page. False where
    /// the kernel does not have it; the caller then touches the pages itself.
    /// </summary>
    public static unsafe bool TryPopulateForWriting(byte* address, long length)
    {
        const int PopulateWrite = 23;
        return IsSupported && Madvise(address, (nuint)length, PopulateWrite) == 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial int Madvise(byte* address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial SafeFileHandle Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Flock(int descriptor, int operation);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int Fchmod(int descriptor, uint mode);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "getegid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial uint GetEffectiveGroupId();

    [LibraryImport("libc", EntryPoint = "getgroups", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static unsafe partial int GetGroups(int size, uint* list);
}

/// <summary>
/// A file in a WAL directory that LogPersist will not use as it is: a symbolic link, not a regular
/// file, larger than a control file may be, or content that does not check out.
/// </summary>
internal sealed class UntrustedFileException(string message) : IOException(message);
