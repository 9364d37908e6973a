using Microsoft.Win32.SafeHandles;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// One file being read: an open handle (so a rename or a deletion does not lose what is still unread),
/// the offset up to which its lines are recorded, and the start of a line not yet ended. Lines are cut
/// as <see cref="LineSplitter"/> cuts a pipe's: a line longer than a piece goes in pieces, and a line
/// that stays unfinished for longer than the partial-line timeout is recorded as it is.
/// </summary>
internal sealed class FollowedFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly LineRecorder _recorder;
    private readonly FilePositions _positions;
    private readonly int _maxPieceBytes;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;
    private int _part;
    private long _pendingSince;
    private (FileIdentity Identity, string Text) _idText;

    public FollowedFile(SafeFileHandle handle, string path, FileIdentity identity, long offset, LineRecorder recorder, FilePositions positions, int maxPieceBytes)
    {
        _handle = handle;
        _positions = positions;
        Path = path;
        Identity = identity;
        Offset = offset;
        _recorder = recorder;
        _maxPieceBytes = maxPieceBytes;
        _buffer = new byte[maxPieceBytes + 2 + LineSplitter.ReadBytes];
    }

    /// <summary>The name the file was last seen under.</summary>
    public string Path { get; set; }

    public FileIdentity Identity { get; private set; }

    /// <summary>Just past the last byte whose line is recorded: where a restart resumes.</summary>
    public long Offset { get; private set; }

    /// <summary>Just past the last byte read (the recorded ones and the start of an unfinished line).</summary>
    public long ReadTo => Offset + (_end - _start);

    /// <summary>Set once <see cref="Read"/> found the file shorter than what was read, or its first bytes changed.</summary>
    public long Truncations { get; private set; }

    public long Appended => _recorder.Appended;

    /// <summary>True once the file is closed.</summary>
    public bool Closed => _handle.IsClosed;

    /// <summary>The file this one is a copy of while that one is read on and not truncated (see <see cref="ShadowOf"/>).</summary>
    public FollowedFile? Original { get; private set; }

    private long _originalTruncations;

    /// <summary>
    /// Makes this file, a copy of <paramref name="original"/>, keep its position at the original's until
    /// the original is truncated or gone: the copy's bytes up to there were read from the original, and
    /// only what the original lost to a truncation before it was read is read from the copy.
    /// </summary>
    public void ShadowOf(FollowedFile original)
    {
        Original = original;
        _originalTruncations = original.Truncations;
        Offset = original.ReadTo;
    }

    /// <summary>
    /// Reads what the file has beyond what was read, records each complete line, and records an
    /// unfinished line that has waited longer than <paramref name="partialTimeout"/> (at once when
    /// <paramref name="final"/>). Returns true when something was recorded. A file that became shorter
    /// than what was read, or whose first bytes are no longer those fingerprinted, was truncated (and
    /// maybe rewritten): the unfinished line is recorded and reading starts again at its start.
    /// </summary>
    public bool Read(TimeProvider time, TimeSpan partialTimeout, bool final)
    {
        var recorded = false;
        if (Original is { } original)
        {
            if (!original.Closed && original.Truncations == _originalTruncations)
            {
                Offset = original.ReadTo;
                return false;
            }

            // The original was truncated (or is gone) since the last pass: its position then is this one's.
            Original = null;
        }

        var size = FileNodes.Stat(_handle).Size;
        if (size < ReadTo || !FirstBytesUnchanged())
        {
            recorded |= FlushPending();

            // Kept (and saved with the positions) before any line of what now fills the file is
            // recorded: a copy of what was truncated away, found now or after a crash, starts there.
            _positions.Truncated(Identity, Offset);
            Offset = 0;
            _start = _end = 0;
            _part = 0;
            Identity = Identity with { FingerprintLength = 0, Fingerprint = FileIdentity.Hash([]) };
            Truncations++;
        }

        GrowFingerprint();
        while (true)
        {
            Compact();
            var read = RandomAccess.Read(_handle, _buffer.AsSpan(_end, Math.Min(LineSplitter.ReadBytes, _buffer.Length - _end)), ReadTo);
            if (read == 0)
            {
                break;
            }

            var fresh = _end;
            _end += read;
            recorded |= HandOn(fresh);
            if (_end > _start)
            {
                _pendingSince = time.GetTimestamp();
            }
        }

        if (_end > _start && (final || time.GetElapsedTime(_pendingSince) >= partialTimeout))
        {
            recorded |= FlushPending();
        }

        return recorded;
    }

    /// <summary>
    /// True when <paramref name="other"/> holds the same bytes as this file in the last 4 KiB before
    /// <paramref name="end"/> (which must lie past the fingerprint): what tells a copy of this file from
    /// another file that only starts the same way (a common header).
    /// </summary>
    public bool SameBytesAs(SafeFileHandle other, long end)
    {
        if (end <= FileIdentity.FingerprintBytes)
        {
            return false;
        }

        var length = (int)Math.Min(4096, end - FileIdentity.FingerprintBytes);
        var mine = new byte[length];
        var theirs = new byte[length];
        return ReadExactly(_handle, mine, end - length) && ReadExactly(other, theirs, end - length) && mine.AsSpan().SequenceEqual(theirs);
    }

    private static bool ReadExactly(SafeFileHandle handle, byte[] buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
            if (read == 0)
            {
                return false;
            }

            total += read;
        }

        return true;
    }

    private bool FirstBytesUnchanged() =>
        Identity.FingerprintLength == 0
        || FileIdentity.FingerprintOf(_handle, Identity.FingerprintLength) is { } now && now.Hash == Identity.Fingerprint;

    private void GrowFingerprint()
    {
        if (!Identity.IsFull && FileIdentity.FingerprintOf(_handle) is { } now && now.Length > Identity.FingerprintLength)
        {
            Identity = Identity with { FingerprintLength = now.Length, Fingerprint = now.Hash };
        }
    }

    private void Compact()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
    }

    private bool HandOn(int fresh)
    {
        var recorded = false;
        var newline = _buffer.AsSpan(fresh, _end - fresh).IndexOf((byte)'\n');
        while (newline >= 0)
        {
            var at = fresh + newline;
            Complete(at - _start, at + 1 - _start);
            recorded = true;
            fresh = _start;
            newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
        }

        // Pieces of a pending line while more than one piece and a byte remain: the line's end (and a
        // \r before its \n) is then always in a later piece, never an empty one.
        while (_end - _start > _maxPieceBytes + 1)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var cut = LineSplitter.Utf8Boundary(pending, _maxPieceBytes);
            Record(pending[..cut], ++_part, lastPart: false, cut);
            recorded = true;
        }

        return recorded;
    }

    /// <summary>Records the line of <paramref name="length"/> bytes at the start of what is pending, which uses <paramref name="consumed"/> bytes.</summary>
    private void Complete(int length, int consumed)
    {
        var line = _buffer.AsSpan(_start, length);
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (_part == 0 && line.Length <= _maxPieceBytes)
        {
            Record(line, 0, lastPart: true, consumed);
            return;
        }

        // The line's bytes all go before its last piece, whose end offset covers the newline too.
        while (line.Length > _maxPieceBytes)
        {
            var cut = LineSplitter.Utf8Boundary(line, _maxPieceBytes);
            Record(line[..cut], ++_part, lastPart: false, cut);
            consumed -= cut;
            line = _buffer.AsSpan(_start, line.Length - cut);
        }

        Record(line, ++_part, lastPart: true, consumed);
        _part = 0;
    }

    private bool FlushPending()
    {
        if (_end == _start && _part == 0)
        {
            return false;
        }

        var length = _end - _start;
        Complete(length, length);
        return true;
    }

    private void Record(ReadOnlySpan<byte> line, int part, bool lastPart, int consumed)
    {
        if (_idText.Identity != Identity)
        {
            _idText = (Identity, Identity.ToString());
        }

        _recorder.Origin = new FileOrigin(Path, _idText.Text, Offset + consumed);
        lock (_positions.Gate)
        {
            // The line and its position together: a save of the positions sees both or neither. The
            // append never waits for the shipper (run's WAL drops its oldest entries when full), so
            // the acknowledgement that saves the positions under this lock is never waited for here.
            _recorder.Write(line, part, lastPart);
            Offset += consumed;
            _positions.Advance(Identity, Offset, Path);
        }

        _start += consumed;
    }

    public void Dispose() => _handle.Dispose();
}
