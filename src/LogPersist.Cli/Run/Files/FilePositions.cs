using System.Globalization;
using System.Text;
using LogPersist.Entries;
using LogPersist.Wal;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// How far each followed file has been recorded: for each file (by <see cref="FileIdentity"/>), the
/// offset just past the last byte whose line is in the WAL.
/// </summary>
/// <remarks>
/// The WAL is the record of truth: every file entry carries its <c>file_id</c> and <c>file_offset</c>,
/// appended in the same record as the line, so a position can never run ahead of or behind what was
/// appended. Segments the shipper has delivered are deleted, though, and a file quiet since then would
/// have no entry left; so after each batch of appends the positions are also written to
/// <see cref="FileName"/> in the WAL directory (new file, then rename). On start both are read and, per
/// file, the larger offset wins: the side file never holds an offset that was not appended first, and
/// the WAL holds everything appended since the side file was last written.
/// </remarks>
internal sealed class FilePositions
{
    public const string FileName = "files.positions";
    public const string IdProperty = "file_id";
    public const string OffsetProperty = "file_offset";
    public const string NameProperty = "file";

    private readonly Dictionary<(ulong, ulong), (FileIdentity Identity, long Offset, string Path)> _positions = [];
    private readonly string _path;

    private FilePositions(string directory) => _path = Path.Combine(directory, FileName);

    public int Count => _positions.Count;

    /// <summary>
    /// The positions recorded under <paramref name="wal"/>, before anything new is appended: for each file
    /// the WAL's last entry of it, else the side file's position (its entries were shipped and deleted).
    /// </summary>
    /// <remarks>
    /// The WAL wins wherever it still has an entry of a file: segments are deleted oldest first, so when
    /// one entry of a file is left, its later ones are too, and the last is the newest append. The side
    /// file is written after the appends it records, so it never knows more than the WAL did.
    /// </remarks>
    public static FilePositions Load(WriteAheadLog wal)
    {
        var positions = new FilePositions(wal.Directory);
        using (var reader = wal.CreateReader(WalPosition.Start))
        {
            while (reader.TryRead(out var record))
            {
                if (record.Kind == RecordKind.Data && EntryView.TryDecode(record.Payload.Span, out var view) && Read(view) is { } found)
                {
                    positions._positions[found.Identity.Node] = found;
                }
            }
        }

        positions.LoadSideFile();
        return positions;
    }

    /// <summary>Where to resume the file with this device and inode, when it was recorded before; null otherwise.</summary>
    public (FileIdentity Identity, long Offset)? Find(ulong device, ulong inode) =>
        _positions.TryGetValue((device, inode), out var known) ? (known.Identity, known.Offset) : null;

    /// <summary>Records that <paramref name="identity"/> is appended up to <paramref name="offset"/> (which may be lower after a truncation); true when that is news.</summary>
    public bool Advance(FileIdentity identity, long offset, string path)
    {
        if (_positions.TryGetValue(identity.Node, out var known) && known == (identity, offset, path))
        {
            return false;
        }

        _positions[identity.Node] = (identity, offset, path);
        return true;
    }

    /// <summary>
    /// Where a previous run had read a file whose first bytes had the full fingerprint
    /// <paramref name="fingerprint"/> and which, under the name it had, has other first bytes now (it
    /// was truncated while no run was watching): a new file with that fingerprint is its copy, and
    /// holds the lines the truncation took from that offset on. Null when there is none.
    /// </summary>
    public long? TruncatedOriginal(uint fingerprint, (ulong Device, ulong Inode) candidate)
    {
        foreach (var (identity, offset, path) in _positions.Values)
        {
            if (!identity.IsFull || identity.Fingerprint != fingerprint || identity.Node == candidate)
            {
                continue;
            }

            try
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var node = FileNodes.Stat(handle);
                var firstBytes = FileIdentity.FingerprintOf(handle, identity.FingerprintLength);
                if ((node.Device, node.Inode) == identity.Node && (firstBytes is null || firstBytes.Value.Hash != fingerprint))
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

    public void Forget(FileIdentity identity) => _positions.Remove(identity.Node);

    /// <summary>Writes the positions to the side file (new file, then rename): a crash leaves the old one or the new one.</summary>
    public void Save()
    {
        var text = new StringBuilder();
        foreach (var (identity, offset, path) in _positions.Values)
        {
            text.Append(CultureInfo.InvariantCulture, $"{identity} {offset} {path}\n");
        }

        var temporary = _path + ".new";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Owner-only, as every file of a WAL directory: the names of the files read are in it.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        }

        File.Move(temporary, _path, overwrite: true);
    }

    private void LoadSideFile()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(_path);
        }
        catch (FileNotFoundException)
        {
            return;
        }

        foreach (var line in lines)
        {
            var parts = line.Split(' ', 3);
            if (parts.Length == 3
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
        var reader = new ValueReader(view.Properties);
        for (var i = 0; i < view.PropertyCount; i++)
        {
            if (!reader.TryReadString(out var name) || !reader.TryReadValue(out var value))
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
