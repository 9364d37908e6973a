using System.Text;

namespace LogPersist.Cli.Run;

/// <summary>
/// Where the child's bytes are copied: the wrapper's own stdout and stderr as raw streams, so the
/// copy is byte for byte (invalid UTF-8 and all) and <c>kubectl logs</c> shows what the child wrote.
/// </summary>
internal static class Passthrough
{
    /// <summary>
    /// The raw stream under <paramref name="writer"/>: the process's file descriptor for the console
    /// writers, the base stream of a <see cref="StreamWriter"/>, and otherwise a stream that decodes
    /// UTF-8 into the writer (only tests write to such writers; that copy is not byte for byte).
    /// </summary>
    public static Stream For(TextWriter writer, bool standardError)
    {
        writer.Flush();
        if (ReferenceEquals(writer, standardError ? Console.Error : Console.Out))
        {
            return standardError ? Console.OpenStandardError() : Console.OpenStandardOutput();
        }

        return writer is StreamWriter { BaseStream: { CanWrite: true } stream } ? stream : new DecodingStream(writer);
    }

    private sealed class DecodingStream(TextWriter writer) : Stream
    {
        private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
        private char[] _chars = new char[4096];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var needed = _decoder.GetCharCount(buffer, flush: false);
            if (_chars.Length < needed)
            {
                _chars = new char[needed];
            }

            var count = _decoder.GetChars(buffer, _chars, flush: false);
            writer.Write(_chars, 0, count);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush() => writer.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
