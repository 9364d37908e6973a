using System.IO.Abstractions;
using LogPersist.Wal.Ownership;

namespace LogPersist.Cli.Draining;

/// <summary>Finds the WAL directories under a root, by positive evidence (<see cref="Wal.WalFiles.Recognise"/>), never through a link.</summary>
internal static class WalDirectories
{
    /// <summary>
    /// The WAL directories under <paramref name="root"/>: the root itself if it is one, else every one
    /// found down to the <c>{namespace}/{service}/{instance}</c> depth, and in the services' adoption
    /// areas (<c>{namespace}/{service}/.adoption/{instance}.{epoch}</c>), in name order.
    /// </summary>
    /// <remarks><paramref name="unreadable"/> lists directories it could not look into (other than <c>lost+found</c>): a WAL may be in there.</remarks>
    public static IReadOnlyList<string> Under(IFileSystem fileSystem, string root, out IReadOnlyList<(string Directory, string Error)> unreadable)
    {
        var found = new List<string>();
        var failed = new List<(string, string)>();
        Collect(fileSystem, fileSystem.Path.GetFullPath(root), depth: 0, found, failed);
        found.Sort(StringComparer.Ordinal);
        unreadable = failed;
        return found;
    }

    private static void Collect(IFileSystem fileSystem, string directory, int depth, List<string> found, List<(string, string)> unreadable)
    {
        try
        {
            if (Wal.WalFiles.Recognise(fileSystem, directory).IsWal)
            {
                found.Add(directory);
                return;
            }

            // Instance directories sit at depth 3; below that only the adoption area of a service holds
            // WALs (adoptions a gone pod left unfinished).
            if (depth >= 3 && !(depth == 3 && fileSystem.Path.GetFileName(directory) == AdoptionArea.DirectoryName))
            {
                return;
            }

            foreach (var child in fileSystem.DirectoryInfo.New(directory).EnumerateDirectories())
            {
                // Never through a link: it could lead anywhere, and what drain finds there it deletes.
                // Hidden levels are LogPersist's own (the adoption area, tombstones of removed directories).
                if (child.Attributes.HasFlag(FileAttributes.ReparsePoint)
                    || (child.Name.StartsWith('.') && !(depth == 2 && child.Name == AdoptionArea.DirectoryName)))
                {
                    continue;
                }

                Collect(fileSystem, child.FullName, depth + 1, found, unreadable);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // lost+found of a fresh volume is never ours; anything else may hide a WAL.
            if (fileSystem.Path.GetFileName(directory) != "lost+found")
            {
                unreadable.Add((directory, e.Message));
            }
        }
    }
}
