using System.IO.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace LogPersist.Tests.Support;

/// <summary>
/// The real file system, except that opening a file stream can be made to fail: a test sets
/// <see cref="Fault"/> to decide, per path, which exception the next open throws (a full disk, a
/// permission error). Every open is counted, so tests can also check that a failing operation is
/// not retried in a tight loop. A deletion can be held (<see cref="BeforeDelete"/>).
/// </summary>
internal sealed class FaultyFileSystem : IFileSystem
{
    private readonly FileSystem _inner = new();

    public FaultyFileSystem()
    {
        FileStream = new FaultyFileStreamFactory(this, _inner.FileStream);
        File = new FaultyFile(this);
    }

    /// <summary>Returns the exception an open of the given path must throw, or null to let it through.</summary>
    public Func<string, Exception?>? Fault { get; set; }

    public int OpenAttempts;

    public int FailedOpens;

    public static IOException NoSpace(string path) => new($"No space left on device : '{path}'", 28);

    /// <summary>Called with the path before every <see cref="IFile.Delete"/>; a test may block there to hold a deletion half-way.</summary>
    public Action<string>? BeforeDelete { get; set; }

    public IFile File { get; }

    public IDirectory Directory => _inner.Directory;

    public IFileInfoFactory FileInfo => _inner.FileInfo;

    public IFileStreamFactory FileStream { get; }

    public IFileSystemWatcherFactory FileSystemWatcher => _inner.FileSystemWatcher;

    public IDirectoryInfoFactory DirectoryInfo => _inner.DirectoryInfo;

    public IDriveInfoFactory DriveInfo => _inner.DriveInfo;

    public IPath Path => _inner.Path;

    public IFileVersionInfoFactory FileVersionInfo => _inner.FileVersionInfo;

    public IRandomAccess RandomAccess => _inner.RandomAccess;

    private void BeforeOpen(string path)
    {
        Interlocked.Increment(ref OpenAttempts);
        if (Fault?.Invoke(path) is { } exception)
        {
            Interlocked.Increment(ref FailedOpens);
            throw exception;
        }
    }

    private sealed class FaultyFile(FaultyFileSystem owner) : FileWrapper(owner)
    {
        public override void Delete(string path)
        {
            owner.BeforeDelete?.Invoke(path);
            base.Delete(path);
        }
    }

    private sealed class FaultyFileStreamFactory(FaultyFileSystem owner, IFileStreamFactory inner) : IFileStreamFactory
    {
        public IFileSystem FileSystem => owner;

        public FileSystemStream New(SafeFileHandle handle, FileAccess access) => inner.New(handle, access);

        public FileSystemStream New(SafeFileHandle handle, FileAccess access, int bufferSize) => inner.New(handle, access, bufferSize);

        public FileSystemStream New(SafeFileHandle handle, FileAccess access, int bufferSize, bool isAsync) => inner.New(handle, access, bufferSize, isAsync);

        public FileSystemStream New(string path, FileMode mode)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode);
        }

        public FileSystemStream New(string path, FileMode mode, FileAccess access)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode, access);
        }

        public FileSystemStream New(string path, FileMode mode, FileAccess access, FileShare share)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode, access, share);
        }

        public FileSystemStream New(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode, access, share, bufferSize);
        }

        public FileSystemStream New(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize, bool useAsync)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode, access, share, bufferSize, useAsync);
        }

        public FileSystemStream New(string path, FileMode mode, FileAccess access, FileShare share, int bufferSize, FileOptions options)
        {
            owner.BeforeOpen(path);
            return inner.New(path, mode, access, share, bufferSize, options);
        }

        public FileSystemStream New(string path, FileStreamOptions options)
        {
            owner.BeforeOpen(path);
            return inner.New(path, options);
        }

        public FileSystemStream Wrap(FileStream fileStream) => inner.Wrap(fileStream);
    }
}
