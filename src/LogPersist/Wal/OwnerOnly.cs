using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>Creates WAL files and directories readable by their owner only (0600 / 0700) on Unix.</summary>
internal static class OwnerOnly
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates <paramref name="path"/> and every missing level above it owner-only (the namespace and
    /// service levels too, so other users of a shared volume cannot even list its pods). Levels that
    /// exist (the mounted root) keep their mode.
    /// </summary>
    public static void CreateDirectory(IFileSystem fileSystem, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            fileSystem.Directory.CreateDirectory(path);
            return;
        }

        var missing = new Stack<string>();
        for (var level = fileSystem.Path.TrimEndingDirectorySeparator(fileSystem.Path.GetFullPath(path));
             !string.IsNullOrEmpty(level) && !fileSystem.Directory.Exists(level);
             level = fileSystem.Path.GetDirectoryName(level))
        {
            missing.Push(level);
        }

        while (missing.TryPop(out var level))
        {
            // A concurrent creator (another pod of the service) may make a level first: that is fine.
            fileSystem.Directory.CreateDirectory(level, DirectoryMode);
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
