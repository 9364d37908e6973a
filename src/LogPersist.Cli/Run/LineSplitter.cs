namespace LogPersist.Cli.Run;

/// <summary>
/// Copies a pipe to the passthrough stream byte for byte and cuts what it read into lines, in one
/// buffer of fixed size: a line longer than <see cref="MaxPieceBytes"/> is handed on in pieces, so a
/// child that never writes a newline cannot grow the wrapper's memory. The complete lines of each read
/// are handed on before the next read; while the handler works, the pipe fills and the child's writes
/// block, which is the back-pressure that keeps a flooding child in step.
/// </summary>
internal sealed class LineSplitter
{
    /// <summary>Bytes asked of the pipe per read: a Linux pipe's default capacity.</summary>
    public const int ReadBytes = 64 * 1024;

    private readonly byte[] _buffer;
    private readonly LineHandler _handler;
    private int _start;
    private int _end;
    private int _part;

    /// <param name="maxPieceBytes">The longest line handed on whole; at least 4 so a piece always holds a character.</param>
    /// <param name="handler">Called for each line or piece, in order.</param>
    public LineSplitter(int maxPieceBytes, LineHandler handler)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPieceBytes, 4);
        MaxPieceBytes = maxPieceBytes;
        _handler = handler;
        // A pending partial line keeps at most MaxPieceBytes + 1 bytes between reads (see CutPieces).
        _buffer = new byte[maxPieceBytes + 2 + ReadBytes];
    }

    public int MaxPieceBytes { get; }

    /// <summary>Bytes copied to the passthrough stream (all bytes read).</summary>
    public long BytesRead { get; private set; }

    /// <summary>Set when writing to the passthrough stream failed; the splitter then goes on without it.</summary>
    public Exception? PassthroughError { get; private set; }

    /// <summary>Reads <paramref name="source"/> to its end, then hands on a last line that had no newline.</summary>
    public void Run(Stream source, Stream? passthrough)
    {
        while (true)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            var read = source.Read(_buffer, _end, Math.Min(ReadBytes, _buffer.Length - _end));
            if (read == 0)
            {
                Finish();
                return;
            }

            BytesRead += read;
            var fresh = _end;
            _end += read;
            HandOn(fresh);
            passthrough = Pass(passthrough, _buffer.AsSpan(fresh, read));
        }
    }

    private void HandOn(int fresh)
    {
        var newline = _buffer.AsSpan(fresh, _end - fresh).IndexOf((byte)'\n');
        while (newline >= 0)
        {
            var at = fresh + newline;
            Complete(_buffer.AsSpan(_start, at - _start));
            _start = at + 1;
            newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            fresh = _start;
        }

        CutPieces();
    }

    /// <summary>
    /// Hands on pieces of a pending line while more than one piece and a byte remain: the line's end
    /// (and a <c>\r</c> before its <c>\n</c>) is then always in a later piece, never an empty one.
    /// </summary>
    private void CutPieces()
    {
        while (_end - _start > MaxPieceBytes + 1)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var cut = Utf8Boundary(pending, MaxPieceBytes);
            _handler(pending[..cut], ++_part, lastPart: false);
            _start += cut;
        }
    }

    private void Complete(ReadOnlySpan<byte> line)
    {
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (_part == 0 && line.Length <= MaxPieceBytes)
        {
            _handler(line, 0, lastPart: true);
            return;
        }

        while (line.Length > MaxPieceBytes)
        {
            var cut = Utf8Boundary(line, MaxPieceBytes);
            _handler(line[..cut], ++_part, lastPart: false);
            line = line[cut..];
        }

        _handler(line, ++_part, lastPart: true);
        _part = 0;
    }

    private void Finish()
    {
        if (_end > _start || _part > 0)
        {
            Complete(_buffer.AsSpan(_start, _end - _start));
        }

        _start = _end = 0;
    }

    private Stream? Pass(Stream? passthrough, ReadOnlySpan<byte> bytes)
    {
        if (passthrough is null)
        {
            return null;
        }

        try
        {
            passthrough.Write(bytes);
            passthrough.Flush();
            return passthrough;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            // A closed stdout (EPIPE) must not stop the WAL copy.
            PassthroughError = e;
            return null;
        }
    }

    /// <summary>The longest prefix of at most <paramref name="max"/> bytes that does not end inside a UTF-8 sequence.</summary>
    internal static int Utf8Boundary(ReadOnlySpan<byte> text, int max)
    {
        if (text.Length <= max)
        {
            return text.Length;
        }

        var cut = max;
        // Back up over continuation bytes (at most three) to the lead byte; cut before it.
        for (var i = 0; i < 3 && cut > 0 && (text[cut] & 0xC0) == 0x80; i++)
        {
            cut--;
        }

        return cut == 0 || (text[cut] & 0xC0) == 0x80 ? max : cut;
    }
}
