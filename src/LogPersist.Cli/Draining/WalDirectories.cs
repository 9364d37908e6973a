using LogPersist.Cli.Reading;

namespace LogPersist.Cli.Draining;

/// <summary>Finds the WAL directories under a root (see <see cref="WalDirectory.IsWal"/>).</summary>
internal static class WalDirectories
{
    /// <summary>
    /// The WAL directories under <paramref name="root"/>: the root itself if it is one, else every one
    /// found down to the <c>{namespace}/{service}/{instance}</c> depth, and in the services' adoption
    /// areas (<c>{namespace}/{service}/.adoption/{instance}.{epoch}</c>), in name order.
    /// </summary>
    /// <remarks><paramref name="unreadable"/> lists directories it could not look into (other than <c>lost+found</c>): a WAL may be in there.</remarks>
    public static IReadOnlyList<string> Under(string root, out IReadOnlyList<(string Directory, string Error)> unreadable)
    {
        var found = new List<string>();
        var failed = new List<(string, string)>();
        Collect(Path.GetFullPath(root), depth: 0, found, failed);
        found.Sort(StringComparer.Ordinal);
        unreadable = failed;
        return found;
    }

    private static void Collect(string directory, int depth, List<string> found, List<(string, string)> unreadable)
    {
        try
        {
            if (WalDirectory.IsWal(directory))
            {
                found.Add(directory);
                return;
            }

            // Instance directories sit at depth 3; below that only the adoption area of a service holds
            // WALs (adoptions a gone pod left unfinished).
            if (depth >= 3 && !(depth == 3 && Path.GetFileName(directory) == Wal.AdoptionArea.DirectoryName))
            {
                return;
            }

            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                Collect(child, depth + 1, found, unreadable);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // lost+found of a fresh volume is never ours; anything else may hide a WAL.
            if (Path.GetFileName(directory) != "lost+found")
            {
                unreadable.Add((directory, e.Message));
            }
        }
    }
}
