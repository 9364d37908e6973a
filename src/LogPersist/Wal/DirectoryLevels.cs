using System.Globalization;
using System.IO.Abstractions;

namespace LogPersist.Wal;

/// <summary>
/// The directory levels between the WAL root and an instance directory (<c>{namespace}/{service}/{instance}</c>)
/// on a volume other users may write to. Missing levels are created owner-only (0700). Every level
/// below the root — existing or just made — must then be a real directory (not a symbolic link, which
/// could put the WAL anywhere), owned by this process's user, and writable by no one else (or whoever
/// could write there could plant or swap what LogPersist opens). The instance directory itself is
/// LogPersist's own: when it is wider than 0700 it is narrowed. The root itself (the mounted volume)
/// is trusted as it is.
/// </summary>
internal static class DirectoryLevels
{
    private const UnixFileMode GroupWrite = UnixFileMode.GroupWrite;
    private const UnixFileMode OtherWrite = UnixFileMode.OtherWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates the missing levels of <paramref name="directory"/> (when <paramref name="create"/>) and checks
    /// every level below <paramref name="root"/> (only the directory itself when the root is unknown or
    /// not above it). Throws <see cref="UntrustedFileException"/> naming the level and what is wrong with it.
    /// </summary>
    /// <param name="fileSystem">The file system the directories are created through.</param>
    /// <param name="root">The WAL root, trusted as it is; null when unknown.</param>
    /// <param name="directory">The instance (or adopted, or adoption-area) directory.</param>
    /// <param name="allowGroupWritable">Accept levels above the directory that are group-writable for one of this process's groups (a volume whose <c>fsGroup</c> makes them so).</param>
    /// <param name="create">Create what is missing (0700); false for a directory that must exist already.</param>
    public static void Prepare(IFileSystem fileSystem, string? root, string directory, bool allowGroupWritable, bool create = true)
    {
        var full = fileSystem.Path.TrimEndingDirectorySeparator(fileSystem.Path.GetFullPath(directory));
        if (OperatingSystem.IsWindows())
        {
            if (create)
            {
                OwnerOnly.CreateDirectory(fileSystem, full);
            }

            return;
        }

        // Top down: each level is checked before anything is created in it, and a level made here is
        // checked too (a concurrent creator may have made it first). A level swapped after its check
        // needs write access to a level already checked.
        var levels = Levels(fileSystem, root, full);
        if (create && fileSystem.Path.GetDirectoryName(levels[0]) is { } above)
        {
            OwnerOnly.CreateDirectory(fileSystem, above);
        }

        foreach (var level in levels)
        {
            if (create && !fileSystem.Directory.Exists(level) && (!PosixFiles.IsSupported || PosixFiles.StatNoFollow(level) is null))
            {
                fileSystem.Directory.CreateDirectory(level, OwnerOnly.DirectoryMode);
            }

            Check(level, isDirectory: level == full, allowGroupWritable);
        }
    }

    private static List<string> Levels(IFileSystem fileSystem, string? root, string full)
    {
        var levels = new List<string> { full };
        if (root is null)
        {
            return levels;
        }

        var top = fileSystem.Path.TrimEndingDirectorySeparator(fileSystem.Path.GetFullPath(root));
        var comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        if (!full.StartsWith(top + fileSystem.Path.DirectorySeparatorChar, comparison))
        {
            return levels;
        }

        for (var level = fileSystem.Path.GetDirectoryName(full); level is not null && level.Length > top.Length; level = fileSystem.Path.GetDirectoryName(level))
        {
            levels.Add(level);
        }

        levels.Reverse();
        return levels;
    }

    private static void Check(string level, bool isDirectory, bool allowGroupWritable)
    {
        if (!PosixFiles.IsSupported)
        {
            if (!OperatingSystem.IsWindows())
            {
                CheckManaged(level, isDirectory, allowGroupWritable);
            }

            return;
        }


        using var handle = PosixFiles.OpenNoFollow(level, directory: true);
        var facts = PosixFiles.Stat(handle);
        var user = PosixFiles.EffectiveUserId;
        if (facts.OwnerId != user)
        {
            throw new UntrustedFileException(string.Create(CultureInfo.InvariantCulture,
                $"'{level}' is owned by uid {facts.OwnerId}, not by this process's uid {user}: another user controls what is in it. Every directory level under the WAL root must belong to the user LogPersist runs as."));
        }

        if (isDirectory)
        {
            if ((facts.Mode & GroupOrOther) != 0)
            {
                // LogPersist's own directory, made wider by someone else (or created before it): narrowed.
                PosixFiles.ChangeMode(handle, OwnerOnly.DirectoryMode | (facts.Mode & ~(GroupOrOther | OwnerOnly.DirectoryMode)));
                Diagnostics.LogPersistEventSource.Log.UntrustedFile(level, $"its mode was {Octal(facts.Mode)}; narrowed to 0700");
            }

            return;
        }

        CheckMode(level, facts.Mode, allowGroupWritable && PosixFiles.IsOwnGroup(facts.GroupId));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CheckManaged(string level, bool isDirectory, bool allowGroupWritable)
    {
        var info = new DirectoryInfo(level);
        if (info.LinkTarget is not null)
        {
            throw new UntrustedFileException($"'{level}' is a symbolic link; LogPersist never follows links under its root.");
        }

        var mode = File.GetUnixFileMode(level);
        if (isDirectory)
        {
            if ((mode & GroupOrOther) != 0)
            {
                File.SetUnixFileMode(level, OwnerOnly.DirectoryMode);
            }

            return;
        }

        // The owner cannot be asked here; the mode can.
        CheckMode(level, mode, allowGroupWritable);
    }

    private static void CheckMode(string level, UnixFileMode mode, bool groupMayWrite)
    {
        if ((mode & OtherWrite) != 0)
        {
            throw new UntrustedFileException($"'{level}' is writable by every user (mode {Octal(mode)}): anyone could put files or links there. Run chmod o-w on it; LogPersist needs every directory level under the WAL root writable by its own user only.");
        }

        if ((mode & GroupWrite) != 0 && !groupMayWrite)
        {
            throw new UntrustedFileException($"'{level}' is writable by its group (mode {Octal(mode)}): other users could put files or links there. Run chmod g-w on it, or set AllowGroupWritableDirectories when the volume's fsGroup makes directories group-writable (the group must then be one of this process's).");
        }
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8);
}
