using System.IO.Enumeration;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// The files that <c>--files</c> patterns name now. A pattern is an absolute or relative path whose
/// segments may hold <c>*</c> and <c>?</c> (within one segment, never across a <c>/</c>); directory
/// symlinks are followed, so <c>/tmp/ray/session_latest/logs/*</c> names the files of whichever session
/// the link points to when asked. Only regular files are returned; the order is by path.
/// </summary>
internal sealed class FileGlobs
{
    private readonly string[][] _patterns;
    private readonly string[] _roots;

    public FileGlobs(IEnumerable<string> patterns)
    {
        var list = patterns.Select(p => Path.GetFullPath(p)).ToList();
        _patterns = [.. list.Select(p => p.Split('/', StringSplitOptions.RemoveEmptyEntries))];
        _roots = [.. list.Select(p => "/" + string.Join('/', p.Split('/', StringSplitOptions.RemoveEmptyEntries).TakeWhile(s => !IsWild(s)).SkipLast(1)))];
    }

    /// <summary>The deepest directory of each pattern without a wildcard: where new files or a moved link show up.</summary>
    public IReadOnlyList<string> Roots => _roots;

    public SortedSet<string> Expand()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in _patterns)
        {
            Walk("/", pattern, 0, found);
        }

        return found;
    }

    private static bool IsWild(string segment) => segment.AsSpan().IndexOfAny('*', '?') >= 0;

    private static void Walk(string directory, string[] pattern, int index, SortedSet<string> found)
    {
        var segment = pattern[index];
        var last = index == pattern.Length - 1;
        IEnumerable<string> candidates;
        if (!IsWild(segment))
        {
            candidates = [Path.Combine(directory, segment)];
        }
        else
        {
            try
            {
                candidates = [.. Directory.EnumerateFileSystemEntries(directory)
                    .Where(entry => FileSystemName.MatchesSimpleExpression(segment, Path.GetFileName(entry), ignoreCase: false))];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }

        foreach (var candidate in candidates)
        {
            if (last)
            {
                if (File.Exists(candidate))
                {
                    found.Add(candidate);
                }
            }
            else if (Directory.Exists(candidate))
            {
                Walk(candidate, pattern, index + 1, found);
            }
        }
    }
}
