using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>Creates WAL files and directories readable by their owner only (0600 / 0700) on Unix.</summary>
internal static class OwnerOnly
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static void CreateDirectory(IFileSystem fileSystem, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            fileSystem.Directory.CreateDirectory(path);
        }
        else
        {
            fileSystem.Directory.CreateDirectory(path, DirectoryMode);
        }
    }

    /// <summary>Options for a new file: owner-only on Unix, optionally with its blocks reserved up front.</summary>
    public static FileStreamOptions NewFile(System.IO.FileMode mode, FileShare share = FileShare.None, long preallocationSize = 0)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.ReadWrite,
            Share = share,
            PreallocationSize = preallocationSize,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return options;
    }
}
