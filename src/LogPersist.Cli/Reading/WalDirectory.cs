using System.IO.Abstractions;
using LogPersist.Shipping;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Cli.Reading;

/// <summary>What the checkpoint file of a WAL directory holds.</summary>
internal enum CheckpointState
{
    /// <summary>No checkpoint file: nothing was acknowledged, everything on disk is unshipped.</summary>
    Missing,

    /// <summary>A valid checkpoint.</summary>
    Valid,

    /// <summary>A checkpoint file that does not check out; a writer treats it as missing.</summary>
    Invalid,
}

/// <summary>
/// A WAL directory opened for reading only: its segment list, checkpoint, holder and stream
/// description, read without creating, locking for writing, moving or deleting anything. Every file
/// is opened shared for reading, writing and deletion, so a live writer and shipper carry on as if
/// nobody looked.
/// </summary>
internal sealed class WalDirectory
{
    private readonly IFileSystem _fileSystem;

    private WalDirectory(IFileSystem fileSystem, string path, IReadOnlyList<long> segments, WalPosition checkpoint, CheckpointState checkpointState, WalHolder holder)
    {
        _fileSystem = fileSystem;
        Path = path;
        Segments = segments;
        Checkpoint = checkpoint;
        CheckpointState = checkpointState;
        Holder = holder;
    }

    public string Path { get; }

    /// <summary>Segment sequences present when the directory was opened, oldest first.</summary>
    public IReadOnlyList<long> Segments { get; }

    /// <summary>The acknowledged position (the start of the WAL when there is no valid checkpoint).</summary>
    public WalPosition Checkpoint { get; }

    public CheckpointState CheckpointState { get; }

    public WalHolder Holder { get; }

    /// <summary>
    /// Segments from this sequence on may still be appended to: the newest one when a live process holds
    /// the directory, otherwise only segments a writer starting later would create.
    /// </summary>
    public long LiveFrom => Segments.Count == 0 ? 1 : Holder.IsLive ? Segments[^1] : Segments[^1] + 1;

    public bool IsLive(long sequence) => sequence >= LiveFrom;

    /// <summary>Opens <paramref name="path"/>; a path that does not exist or is not a WAL directory is a <see cref="UsageException"/>.</summary>
    public static WalDirectory Open(IFileSystem fileSystem, string path)
    {
        var full = fileSystem.Path.GetFullPath(path);
        if (fileSystem.File.Exists(full))
        {
            throw new UsageException($"'{path}' is a file, not a WAL directory.");
        }

        if (!fileSystem.Directory.Exists(full))
        {
            throw new UsageException($"'{path}' does not exist.");
        }

        List<long> segments;
        try
        {
            segments = ListSegments(fileSystem, full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"'{path}' cannot be read: {e.Message}");
        }

        var checkpointPath = fileSystem.Path.Combine(full, Wal.Checkpoint.FileName);
        WalRecognition recognition;
        try
        {
            recognition = WalFiles.Recognise(fileSystem, full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"'{path}' cannot be read: {e.Message}");
        }

        if (!recognition.IsWal)
        {
            throw new UsageException($"'{path}' is not a LogPersist WAL directory: {recognition.Reason}.");
        }

        var (checkpoint, state) = ReadCheckpoint(fileSystem, checkpointPath);
        return new WalDirectory(fileSystem, full, segments, checkpoint, state, WalHolder.Probe(full));
    }

    /// <summary>The segments present now, oldest first (a live shipper deletes, a live writer adds).</summary>
    private static List<long> ListSegments(IFileSystem fileSystem, string directory)
    {
        var sequences = new List<long>();
        foreach (var file in fileSystem.Directory.EnumerateFiles(directory, SegmentNames.SearchPattern))
        {
            if (SegmentNames.TryParse(fileSystem.Path.GetFileName(file), out var sequence))
            {
                sequences.Add(sequence);
            }
        }

        sequences.Sort();
        return sequences;
    }

    /// <summary>The description in stream.json, or what the path implies when there is none or it is unreadable (<paramref name="error"/> says which).</summary>
    public StreamDescription LoadStream(out bool fromFile, out string? error)
    {
        fromFile = StreamDescription.TryLoad(_fileSystem, Path, out var description, out error);
        return fromFile ? description : StreamDescription.FromPath(Path);
    }

    /// <summary>
    /// The bytes of a control file, read like the SDK reads them (<see cref="ControlFile"/>: no link
    /// followed, no FIFO opened for long, at most 64 KiB); null when it is missing or not usable.
    /// </summary>
    private static byte[]? ReadShared(IFileSystem fileSystem, string path)
    {
        try
        {
            return ControlFile.Read(fileSystem, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static (WalPosition Position, CheckpointState State) ReadCheckpoint(IFileSystem fileSystem, string path)
    {
        if (!fileSystem.File.Exists(path) && SegmentFile.Kind(path) is null)
        {
            return (WalPosition.Start, CheckpointState.Missing);
        }

        return ReadShared(fileSystem, path) is { } bytes && Wal.Checkpoint.TryDecode(bytes, out var position)
            ? (position, CheckpointState.Valid)
            : (WalPosition.Start, CheckpointState.Invalid);
    }
}
