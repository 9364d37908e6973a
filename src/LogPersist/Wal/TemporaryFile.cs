using System.IO.Abstractions;
using LogPersist.Wal.Ownership;

namespace LogPersist.Wal;

/// <summary>
/// The new file that replaces a WAL file whole (write, then rename over the old one): the checkpoint,
/// the owner record, <c>stream.json</c>, a segment being created. Its name is hidden and unpredictable
/// (<c>.{32 random hex digits}.{final name}.tmp</c>) and it is created exclusively (<c>O_CREAT|O_EXCL</c>,
/// which never follows a symbolic link), so nothing planted under a name that someone could guess
/// (a link to a file elsewhere) is ever opened and written through. The rename then replaces the
/// final name itself, never what a link there points to.
/// </summary>
internal static class TemporaryFile
{
    public const string Suffix = ".tmp";
    private const int RandomHexDigits = 32;
    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
    private static readonly System.Buffers.SearchValues<char> AnyHex = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>A fresh path beside <paramref name="finalPath"/> for the file that will replace it.</summary>
    public static string PathFor(IFileSystem fileSystem, string finalPath)
    {
        var directory = fileSystem.Path.GetDirectoryName(finalPath) ?? "";
        // A version-4 GUID: 122 bits from the system's secure random source, as 32 lower-case hex digits.
        // Not RandomNumberGenerator: on Linux that loads and initialises OpenSSL (milliseconds), on the
        // path of the first log call, for the owner record of the WAL being opened.
        var random = Guid.NewGuid().ToString("N");
        return fileSystem.Path.Combine(directory, "." + random + "." + fileSystem.Path.GetFileName(finalPath) + Suffix);
    }

    /// <summary>
    /// Creates the file at <paramref name="path"/> (from <see cref="PathFor"/>), owner-only; fails when
    /// anything at all is there already.
    /// </summary>
    public static FileSystemStream Create(IFileSystem fileSystem, string path, long preallocationSize = 0) =>
        fileSystem.FileStream.New(path, OwnerOnly.NewFile(FileMode.CreateNew, preallocationSize: preallocationSize));

    /// <summary>Removes a temporary file that will not be renamed, quietly (a leftover is removed by the next opener).</summary>
    public static void TryDelete(IFileSystem fileSystem, string path)
    {
        try
        {
            fileSystem.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a leftover.
        }
    }

    /// <summary>
    /// Whether <paramref name="name"/> is a temporary file of a WAL directory: one this version makes,
    /// for a file LogPersist keeps there, or one an earlier version made (<c>checkpoint.tmp</c>,
    /// <c>stream.json.tmp</c>, <c>wal.owner.{token}.tmp</c>, <c>{segment}.wal.tmp</c>).
    /// </summary>
    public static bool IsTemporary(string name)
    {
        if (!name.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var stem = name[..^Suffix.Length];
        if (stem.Length > RandomHexDigits + 2 && stem[0] == '.' && stem[RandomHexDigits + 1] == '.'
            && stem.AsSpan(1, RandomHexDigits).IndexOfAnyExcept(LowerHex) < 0)
        {
            return WalFiles.IsKeptFile(stem[(RandomHexDigits + 2)..]);
        }

        return stem is Checkpoint.FileName or WalFiles.StreamDescriptionName
            || SegmentNames.TryParse(stem, out _)
            || (stem.StartsWith(DirectoryLock.OwnerFileName + ".", StringComparison.Ordinal)
                && stem.Length > DirectoryLock.OwnerFileName.Length + 1
                && stem.AsSpan(DirectoryLock.OwnerFileName.Length + 1).IndexOfAnyExcept(AnyHex) < 0);
    }
}
