using System.Globalization;
using System.Text;
using LogPersist.Entries;
using LogPersist.Wal;
using Microsoft.Win32.SafeHandles;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// How far each followed file has been recorded: for each file (by <see cref="FileIdentity"/>), the
/// offset just past the last byte whose line is in the WAL.
/// </summary>
/// <remarks>
/// The WAL is the record of truth: every file entry carries its <c>file_id</c> and <c>file_offset</c>,
/// appended in the same record as the line, so a position can never run ahead of or behind what was
/// appended. Segments the shipper has delivered are deleted, though, and a file quiet since then would
/// have no entry left; so before the WAL forgets shipped records (<see cref="WriteAheadLog.BeforeForgettingShipped"/>,
/// under the lock that orders acknowledgements) the positions are saved to <see cref="FileName"/> in
/// the WAL directory (new file, then rename), and the checkpoint does not move if that fails. A line's
/// append and its position's advance happen under one lock (<see cref="Gate"/>) that the save takes
/// too, so a save never misses an appended line nor holds a position whose line was not appended.
/// On start the WAL is read before anything is forgotten (the hook loads it first if shipping gets
/// there before the follower does); per file its last entry wins, else the side file's position.
/// </remarks>
internal sealed class FilePositions
{
    public const string FileName = WalFiles.FilePositionsName;

    /// <summary>Largest side file read; a bigger one is not this program's (each followed file takes one short line).</summary>
    private const long MaxSideFileBytes = 16L << 20;
    public const string IdProperty = "file_id";
    public const string OffsetProperty = "file_offset";
    public const string NameProperty = "file";

    private readonly Dictionary<(ulong, ulong), (FileIdentity Identity, long Offset, string Path)> _positions = [];
    /// <summary>Files truncated before a copy of what they held was found (copy-truncate), newest last: where each copy starts.</summary>
    private readonly List<(FileIdentity Identity, long Offset)> _truncated = [];

    /// <summary>Truncations remembered; older ones are forgotten (their copies, if any come, are read whole).</summary>
    public const int MaxTruncated = 64;

    private const string TruncatedTag = "truncated";
    private readonly TextWriter? _error;
    private string? _directory;
    private System.IO.Abstractions.IFileSystem _fileSystem = null!;
    private long _version;
    private long _savedVersion = -1;
    private bool _saveFailureReported;

    public FilePositions(TextWriter? error = null) => _error = error;

    /// <summary>Held while a line is appended and its position advanced, and while the positions are saved.</summary>
    public object Gate { get; } = new();

    public int Count
    {
        get
        {
            lock (Gate)
            {
                return _positions.Count;
            }
        }
    }

    /// <summary>
    /// For <see cref="WriteAheadLog.BeforeForgettingShipped"/>: loads the positions if the follower has
    /// not yet (shipping started first), then saves them. False when they could not be saved.
    /// </summary>
    public bool BeforeForgettingShipped(WriteAheadLog wal)
    {
        lock (Gate)
        {
            EnsureLoaded(wal);
            return Save();
        }
    }

    /// <summary>
    /// Reads the positions recorded under <paramref name="wal"/>, once, before anything new is appended
    /// or anything shipped is forgotten: for each file the WAL's last entry of it, else the side file's
    /// position (its entries were shipped and deleted).
    /// </summary>
    /// <remarks>
    /// The WAL wins wherever it still has an entry of a file: segments are deleted oldest first, so when
    /// one entry of a file is left, its later ones are too, and the last is the newest append. The side
    /// file is written before the segments it stands in for are deleted, so it holds every position those held.
    /// </remarks>
    public void EnsureLoaded(WriteAheadLog wal)
    {
        lock (Gate)
        {
            if (_directory is not null)
            {
                return;
            }

            _directory = wal.Directory;
            _fileSystem = wal.FileSystem;
            using (var reader = wal.CreateReader(WalPosition.Start))
            {
                while (reader.TryRead(out var record))
                {
                    if (record.Kind == RecordKind.Data && EntryView.TryDecode(record.Payload.Span, record.Strings, out var view) && Read(view) is { } found)
                    {
                        if (_positions.TryGetValue(found.Identity.Node, out var earlier) && earlier.Identity.Fingerprint != found.Identity.Fingerprint
                            && (earlier.Identity.FingerprintLength >= found.Identity.FingerprintLength || found.Offset < earlier.Offset))
                        {
                            // The same file with other first bytes, not a longer fingerprint of the same
                            // ones (or with less read): it was truncated there.
                            AddTruncated(earlier.Identity, earlier.Offset);
                        }

                        _positions[found.Identity.Node] = found;
                    }
                }
            }

            LoadSideFile();

            // The side file may lack what the WAL's entries say: the first save writes it whole.
            _savedVersion = -1;
        }
    }

    /// <summary>Where to resume the file with this device and inode, when it was recorded before; null otherwise.</summary>
    public (FileIdentity Identity, long Offset)? Find(ulong device, ulong inode)
    {
        lock (Gate)
        {
            return _positions.TryGetValue((device, inode), out var known) ? (known.Identity, known.Offset) : null;
        }
    }

    /// <summary>Records that <paramref name="identity"/> is appended up to <paramref name="offset"/> (which may be lower after a truncation); true when that is news.</summary>
    public bool Advance(FileIdentity identity, long offset, string path)
    {
        lock (Gate)
        {
            if (_positions.TryGetValue(identity.Node, out var known) && known == (identity, offset, path))
            {
                return false;
            }

            _positions[identity.Node] = (identity, offset, path);
            _version++;
            return true;
        }
    }

    /// <summary>
    /// Where a previous run had read a file that <paramref name="candidate"/> starts like (its
    /// fingerprinted first bytes) and which, under the name it had, has other first bytes now (it was
    /// truncated while no run was watching): the candidate is its copy, and holds the lines the
    /// truncation took from that offset on. Null when there is none.
    /// </summary>
    public long? TruncatedOriginal(SafeFileHandle candidate, (ulong Device, ulong Inode) node)
    {
        List<(FileIdentity Identity, long Offset, string Path)> known;
        lock (Gate)
        {
            known = [.. _positions.Values];
        }

        foreach (var (identity, offset, path) in known)
        {
            if (identity.FingerprintLength == 0 || identity.Node == node
                || FileIdentity.FingerprintOf(candidate, identity.FingerprintLength) is not { } first || first.Hash != identity.Fingerprint)
            {
                continue;
            }

            try
            {
                using var handle = PosixFiles.OpenToRead(path);
                var now = FileNodes.Stat(handle);
                var firstBytes = FileIdentity.FingerprintOf(handle, identity.FingerprintLength);
                if ((now.Device, now.Inode) == identity.Node && (firstBytes is null || firstBytes.Value.Hash != identity.Fingerprint))
                {
                    return offset;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone: a deleted file cannot be told from one that only started the same way.
            }
        }

        return null;
    }

    /// <summary>Remembers that <paramref name="identity"/> was truncated when read up to <paramref name="offset"/>.</summary>
    public void Truncated(FileIdentity identity, long offset)
    {
        lock (Gate)
        {
            AddTruncated(identity, offset);
        }
    }

    /// <summary>
    /// Where <paramref name="candidate"/>, a file not read before, starts if it is a copy of a file
    /// remembered as truncated: the newest whose fingerprinted first bytes it starts with (taken, once);
    /// null when none.
    /// </summary>
    public long? TakeTruncated(SafeFileHandle candidate)
    {
        lock (Gate)
        {
            for (var i = _truncated.Count - 1; i >= 0; i--)
            {
                var (identity, offset) = _truncated[i];
                if (FileIdentity.FingerprintOf(candidate, identity.FingerprintLength) is { } first && first.Hash == identity.Fingerprint)
                {
                    _truncated.RemoveAt(i);
                    _version++;
                    return offset;
                }
            }

            return null;
        }
    }

    private void AddTruncated(FileIdentity identity, long offset)
    {
        if (identity.FingerprintLength == 0 || _truncated.Contains((identity, offset)))
        {
            return;
        }

        _truncated.Add((identity, offset));
        if (_truncated.Count > MaxTruncated)
        {
            _truncated.RemoveAt(0);
        }

        _version++;
    }

    public void Forget(FileIdentity identity)
    {
        lock (Gate)
        {
            if (_positions.Remove(identity.Node))
            {
                _version++;
            }
        }
    }

    /// <summary>
    /// Writes the positions to the side file when they changed since the last write (new file, then
    /// rename: a crash leaves the old one or the new one). False, reported once, when it cannot be written.
    /// </summary>
    public bool Save()
    {
        lock (Gate)
        {
            if (_directory is null || _savedVersion == _version)
            {
                return true;
            }

            var text = new StringBuilder();
            foreach (var (identity, offset, path) in _positions.Values)
            {
                text.Append(CultureInfo.InvariantCulture, $"{identity} {offset} {path}\n");
            }

            foreach (var (identity, offset) in _truncated)
            {
                text.Append(CultureInfo.InvariantCulture, $"{TruncatedTag} {identity} {offset}\n");
            }

            var fileSystem = _fileSystem;
            var final = Path.Combine(_directory, FileName);
            var temporary = TemporaryFile.PathFor(fileSystem, final);
            try
            {
                // Owner-only and never through a planted link, as every file of a WAL directory: the names of the files read are in it.
                using (var stream = TemporaryFile.Create(fileSystem, temporary))
                {
                    stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
                }

                fileSystem.File.Move(temporary, final, overwrite: true);
                _savedVersion = _version;
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TemporaryFile.TryDelete(fileSystem, temporary);
                if (!_saveFailureReported)
                {
                    _saveFailureReported = true;
                    _error?.WriteLine($"logpersist run: cannot save the followed files' positions to '{final}' ({e.Message}); shipped entries stay in the WAL until it can.");
                    _error?.Flush();
                }

                return false;
            }
        }
    }

    private void LoadSideFile()
    {
        var fileSystem = _fileSystem;
        var path = Path.Combine(_directory!, FileName);
        string[] lines;
        try
        {
            var info = fileSystem.FileInfo.New(path);
            if (!info.Exists)
            {
                return;
            }

            if (info.LinkTarget is not null || info.Length > MaxSideFileBytes)
            {
                _error?.WriteLine($"logpersist run: '{path}' is {(info.LinkTarget is not null ? "a symbolic link" : "larger than " + MaxSideFileBytes + " bytes")}, not a positions file; it is ignored.");
                return;
            }

            lines = fileSystem.File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _error?.WriteLine($"logpersist run: cannot read '{path}' ({e.Message}); files without an entry left in the WAL are read from their start.");
            return;
        }

        foreach (var line in lines)
        {
            var parts = line.Split(' ', 3);
            if (parts.Length == 3 && parts[0] == TruncatedTag
                && FileIdentity.TryParse(parts[1], out var truncated)
                && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var at))
            {
                AddTruncated(truncated, at);
            }
            else if (parts.Length == 3
                && FileIdentity.TryParse(parts[0], out var identity)
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                _positions.TryAdd(identity.Node, (identity, offset, parts[2]));
            }
        }
    }

    private static (FileIdentity Identity, long Offset, string Path)? Read(in EntryView view)
    {
        FileIdentity? identity = null;
        long? offset = null;
        var path = "";
        var reader = view.PropertyReader();
        for (var i = 0; i < view.PropertyCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadValue(out var value))
            {
                return null;
            }

            if (name.SequenceEqual("file_id"u8) && value.Tag == ValueTag.String && FileIdentity.TryParse(Encoding.UTF8.GetString(value.Text), out var id))
            {
                identity = id;
            }
            else if (name.SequenceEqual("file_offset"u8) && value.Tag == ValueTag.Integer)
            {
                offset = value.Integer;
            }
            else if (name.SequenceEqual("file"u8) && value.Tag == ValueTag.String)
            {
                path = Encoding.UTF8.GetString(value.Text);
            }
            else if (!reader.TrySkipItems(value))
            {
                return null;
            }
        }

        return identity is { } found && offset is { } at ? (found, at, path) : null;
    }
}
