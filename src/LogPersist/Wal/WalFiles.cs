using System.IO.Abstractions;
using LogPersist.Wal.Ownership;

namespace LogPersist.Wal;

/// <summary>What a look at a directory found: whether it is a WAL directory, on what evidence, and what in it LogPersist did not write.</summary>
/// <param name="IsWal">True when the directory holds a valid checkpoint, a valid owner record or a segment with a valid header.</param>
/// <param name="Reason">The evidence when it is a WAL directory; why it is not one otherwise.</param>
/// <param name="Unknown">Names of entries LogPersist never writes there: subdirectories, links to directories, files of other names.</param>
internal sealed record WalRecognition(bool IsWal, string Reason, IReadOnlyList<string> Unknown);

/// <summary>
/// The files of a WAL directory, by name: segments, <c>checkpoint</c>, <c>wal.lock</c>, <c>wal.owner</c>,
/// <c>stream.json</c> and their temporary files. These are the only files LogPersist ever deletes. A
/// directory is a WAL directory only on positive evidence — a valid checkpoint, a valid owner record,
/// or a segment whose header checks out — never because a file has a familiar name: a model's
/// <c>checkpoint</c> next to its weights is not one.
/// </summary>
internal static class WalFiles
{
    /// <summary>The stream description the shipping side saves in the directory.</summary>
    public const string StreamDescriptionName = "stream.json";

    /// <summary>Where <c>logpersist run --files</c> keeps how far each followed file is recorded once its entries are shipped.</summary>
    public const string FilePositionsName = "files.positions";

    /// <summary>Whether <paramref name="name"/> is a file a WAL directory keeps (temporaries aside).</summary>
    public static bool IsKeptFile(string name) =>
        name is Checkpoint.FileName or DirectoryLock.LockFileName or DirectoryLock.OwnerFileName or StreamDescriptionName or FilePositionsName
        || SegmentNames.TryParse(name, out _);

    /// <summary>Whether <paramref name="name"/> is a file LogPersist writes into a WAL directory, and so may delete there.</summary>
    public static bool IsWalFile(string name) => IsKeptFile(name) || TemporaryFile.IsTemporary(name);

    /// <summary>
    /// Looks at <paramref name="directory"/> without following any link: a directory that is itself a
    /// symbolic link is not a WAL directory, nor is one without positive evidence.
    /// </summary>
    public static WalRecognition Recognise(IFileSystem fileSystem, string directory)
    {
        if (IsLink(fileSystem, directory))
        {
            return new WalRecognition(false, $"'{directory}' is a symbolic link; LogPersist never follows links to WAL directories", []);
        }

        var unknown = new List<string>();
        var segments = new List<string>();
        bool hasCheckpoint = false, hasOwner = false;
        foreach (var entry in fileSystem.DirectoryInfo.New(directory).EnumerateFileSystemInfos())
        {
            var isLink = entry.Attributes.HasFlag(FileAttributes.ReparsePoint);
            if (entry is IDirectoryInfo || !IsWalFile(entry.Name))
            {
                unknown.Add(entry.Name);
            }
            else if (!isLink && SegmentNames.TryParse(entry.Name, out _))
            {
                segments.Add(entry.FullName);
            }
            else if (!isLink)
            {
                hasCheckpoint |= entry.Name == Checkpoint.FileName;
                hasOwner |= entry.Name == DirectoryLock.OwnerFileName;
            }
        }

        unknown.Sort(StringComparer.Ordinal);
        var reason = Evidence(fileSystem, directory, hasCheckpoint, hasOwner, segments);
        return reason is null
            ? new WalRecognition(false, $"'{directory}' holds no valid {Checkpoint.FileName}, no valid {DirectoryLock.OwnerFileName} and no segment (*{SegmentNames.Extension}) with a valid header", unknown)
            : new WalRecognition(true, reason, unknown);
    }

    /// <summary>The entries of <paramref name="directory"/> that LogPersist did not write (see <see cref="WalRecognition.Unknown"/>).</summary>
    public static IReadOnlyList<string> UnknownEntries(IFileSystem fileSystem, string directory) =>
        fileSystem.DirectoryInfo.New(directory).EnumerateFileSystemInfos()
            .Where(e => e is IDirectoryInfo || !IsWalFile(e.Name))
            .Select(e => e.Name)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Whether <paramref name="path"/> itself is a symbolic link (or another reparse point).</summary>
    public static bool IsLink(IFileSystem fileSystem, string path)
    {
        if (PosixFiles.IsSupported)
        {
            return PosixFiles.StatNoFollow(fileSystem.Path.TrimEndingDirectorySeparator(path))?.Kind == FileKind.SymbolicLink;
        }

        var info = fileSystem.DirectoryInfo.New(fileSystem.Path.TrimEndingDirectorySeparator(path));
        return info.LinkTarget is not null || (info.Exists && info.Attributes.HasFlag(FileAttributes.ReparsePoint));
    }

    private static string? Evidence(IFileSystem fileSystem, string directory, bool hasCheckpoint, bool hasOwner, List<string> segments)
    {
        try
        {
            if (hasCheckpoint && ControlFile.Read(fileSystem, fileSystem.Path.Combine(directory, Checkpoint.FileName)) is { } bytes
                && Checkpoint.TryDecode(bytes, out _))
            {
                return "a valid checkpoint";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not evidence; the other files may still be.
        }

        try
        {
            if (hasOwner && OwnerRecord.Read(fileSystem, directory) is not null)
            {
                return "a valid owner record";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        foreach (var segment in segments)
        {
            if (SegmentFile.ReadHeader(segment) is { } header
                && (SegmentHeader.TryRead(header, out _) || SegmentHeader.NewerVersion(header) is not null))
            {
                return $"segment {fileSystem.Path.GetFileName(segment)} with a valid header";
            }
        }

        return null;
    }
}
