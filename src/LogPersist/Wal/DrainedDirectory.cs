using System.IO.Abstractions;
using LogPersist.Diagnostics;
using LogPersist.Wal.Ownership;

namespace LogPersist.Wal;

/// <summary>
/// Removes a WAL directory whose entries have all been shipped, deleting only the files LogPersist
/// writes there. While its holder still has the lock, the directory is renamed to a hidden tombstone
/// beside it, so an opener waiting for the lock finds its path gone and starts a fresh directory, and
/// no one ever locks an unlinked lock file at the live path. A directory that also holds anything
/// LogPersist did not write (a subdirectory, a file of another name) is never removed: it loses
/// LogPersist's files (the lock aside) and stays where it is.
/// </summary>
internal static class DrainedDirectory
{
    private const string Operation = "removing the drained directory";

    /// <summary>
    /// Removes <paramref name="directory"/>, best effort, and releases <paramref name="directoryLock"/>
    /// on the way. Returns why the directory was kept, or null (removed, or a failure that was
    /// reported, after which <paramref name="markClosed"/> leaves a closed owner record). Never throws.
    /// </summary>
    public static string? Remove(IFileSystem fileSystem, string directory, string token, IDisposable directoryLock, Action markClosed)
    {
        IReadOnlyList<string> unknown;
        try
        {
            unknown = WalFiles.UnknownEntries(fileSystem, directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(directory, Operation, e);
            markClosed();
            directoryLock.Dispose();
            return null;
        }

        if (unknown.Count > 0)
        {
            // Someone else's files: LogPersist's own go, the directory and what it does not know stay.
            var names = string.Join(", ", unknown.Take(5)) + (unknown.Count > 5 ? ", …" : "");
            LogPersistEventSource.Log.DirectoryKept(directory, unknown.Count, names);
            DeleteWalFiles(fileSystem, directory, keepLock: true);
            directoryLock.Dispose();
            return $"it holds {unknown.Count} entries LogPersist did not write ({names}); only LogPersist's files were deleted";
        }

        var full = fileSystem.Path.TrimEndingDirectorySeparator(directory);
        var tombstone = fileSystem.Path.Combine(fileSystem.Path.GetDirectoryName(full)!, ".removing-" + fileSystem.Path.GetFileName(full) + "-" + token);
        try
        {
            fileSystem.Directory.Move(directory, tombstone);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(directory, Operation, e);
            markClosed();
            directoryLock.Dispose();
            return null;
        }

        try
        {
            DeleteWalFiles(fileSystem, tombstone, keepLock: false);
        }
        finally
        {
            directoryLock.Dispose();
        }

        try
        {
            fileSystem.Directory.Delete(tombstone);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An opener that locked the old lock file in between may still hold it open (a file left
            // on NFS until it closes), or something was put there meanwhile: the tombstone is hidden
            // from scans, and nothing in it that LogPersist did not write was deleted.
            LogPersistEventSource.Log.OperationFailed(tombstone, Operation, e);
        }

        return null;
    }

    /// <summary>Deletes the files of <paramref name="directory"/> that LogPersist writes there, and nothing else. Never throws.</summary>
    private static void DeleteWalFiles(IFileSystem fileSystem, string directory, bool keepLock)
    {
        try
        {
            foreach (var path in fileSystem.Directory.EnumerateFiles(directory))
            {
                var name = fileSystem.Path.GetFileName(path);
                if (WalFiles.IsWalFile(name) && !(keepLock && name == DirectoryLock.LockFileName))
                {
                    fileSystem.File.Delete(path);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(directory, Operation, e);
        }
    }
}
