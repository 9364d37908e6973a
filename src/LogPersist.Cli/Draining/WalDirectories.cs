using LogPersist.Wal;

namespace LogPersist.Cli.Draining;

/// <summary>Recognises WAL directories: one that holds segments, a checkpoint or an owner record.</summary>
internal static class WalDirectories
{
    public static bool IsWal(string directory) =>
        Directory.Exists(directory)
        && (Directory.EnumerateFiles(directory, SegmentNames.SearchPattern).Any()
            || File.Exists(Path.Combine(directory, Checkpoint.FileName))
            || File.Exists(Path.Combine(directory, DirectoryLock.OwnerFileName)));

    /// <summary>
    /// The WAL directories under <paramref name="root"/>: the root itself if it is one, else every one
    /// found down to the <c>{namespace}/{service}/{instance}</c> depth, in name order.
    /// </summary>
    public static IReadOnlyList<string> Under(string root)
    {
        var found = new List<string>();
        Collect(Path.GetFullPath(root), depth: 0, found);
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private static void Collect(string directory, int depth, List<string> found)
    {
        try
        {
            if (IsWal(directory))
            {
                found.Add(directory);
                return;
            }

            if (depth == 3)
            {
                return;
            }

            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                Collect(child, depth + 1, found);
            }
        }
        catch (UnauthorizedAccessException)
        {
            // Not ours to read (lost+found on a fresh volume): no WAL of ours is in there.
        }
    }
}
