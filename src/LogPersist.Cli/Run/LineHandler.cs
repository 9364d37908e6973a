namespace LogPersist.Cli.Run;

/// <summary>
/// Receives one line of the child's output, without its <c>\n</c> (or <c>\r\n</c>). A line longer than
/// the piece limit arrives as several calls with <paramref name="part"/> 1, 2, … and
/// <paramref name="lastPart"/> true on the final one; a whole line has <paramref name="part"/> 0.
/// The span is valid only during the call.
/// </summary>
internal delegate void LineHandler(ReadOnlySpan<byte> line, int part, bool lastPart);
