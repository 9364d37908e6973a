using System.Buffers;
using System.Text;
using Google.Protobuf;

namespace LogPersist.Loki;

/// <summary>
/// Writes a <c>logproto.PushRequest</c> (push.proto) straight from the entries' UTF-8 lines. On the
/// wire a protobuf <c>string</c> is a length and the UTF-8 bytes, so the line is copied as it is, never
/// decoded to a .NET string. The bytes are those the generated types would write: fields in number
/// order, empty strings and zero numbers left out (proto3), streams without entries left out.
/// </summary>
internal static class PushProtobuf
{
    // Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
    private const byte RequestStreams = (1 << 3) | 2;
    private const byte StreamLabels = (1 << 3) | 2;
    private const byte StreamEntries = (2 << 3) | 2;
    private const byte EntryTimestamp = (1 << 3) | 2;
    private const byte EntryLine = (2 << 3) | 2;
    private const byte EntryMetadata = (3 << 3) | 2;
    private const byte TimestampSeconds = 1 << 3;
    private const byte TimestampNanos = 2 << 3;
    private const byte PairName = (1 << 3) | 2;
    private const byte PairValue = (2 << 3) | 2;

    /// <summary>Encodes <paramref name="streams"/> into an array rented from <paramref name="pool"/>; returns its length.</summary>
    public static int Write(IReadOnlyList<PushStream> streams, ArrayPool<byte> pool, out byte[] buffer)
    {
        var sizes = ArrayPool<int>.Shared.Rent(Math.Max(1, streams.Count));
        try
        {
            var total = 0;
            for (var i = 0; i < streams.Count; i++)
            {
                sizes[i] = streams[i].Entries.Count == 0 ? -1 : StreamSize(streams[i]);
                total += sizes[i] < 0 ? 0 : Field(sizes[i]);
            }

            buffer = pool.Rent(Math.Max(1, total));
            var span = buffer.AsSpan(0, total);
            var at = 0;
            for (var i = 0; i < streams.Count; i++)
            {
                if (sizes[i] >= 0)
                {
                    span[at++] = RequestStreams;
                    WriteVarint(span, ref at, (uint)sizes[i]);
                    WriteStream(span, ref at, streams[i]);
                }
            }

            return at;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sizes);
        }
    }

    private static int StreamSize(PushStream stream)
    {
        var labels = stream.Labels.Utf8Text.Length;
        var size = labels == 0 ? 0 : Field(labels);
        foreach (var entry in stream.Entries)
        {
            size += Field(EntrySize(entry));
        }

        return size;
    }

    private static void WriteStream(Span<byte> span, ref int at, PushStream stream)
    {
        WriteBytes(span, ref at, StreamLabels, stream.Labels.Utf8Text);
        foreach (var entry in stream.Entries)
        {
            span[at++] = StreamEntries;
            WriteVarint(span, ref at, (uint)EntrySize(entry));
            WriteEntry(span, ref at, entry);
        }
    }

    private static int EntrySize(in PushEntry entry)
    {
        var (seconds, nanos) = Split(entry.TimestampNs);
        var size = Field(TimestampSize(seconds, nanos));
        size += entry.Line.Length == 0 ? 0 : Field(entry.Line.Length);
        if (entry.Metadata is { Count: > 0 } metadata)
        {
            foreach (var (name, value) in metadata)
            {
                size += Field(PairSize(name, value));
            }
        }

        return size;
    }

    private static void WriteEntry(Span<byte> span, ref int at, in PushEntry entry)
    {
        var (seconds, nanos) = Split(entry.TimestampNs);
        span[at++] = EntryTimestamp;
        WriteVarint(span, ref at, (uint)TimestampSize(seconds, nanos));
        if (seconds != 0)
        {
            span[at++] = TimestampSeconds;
            WriteVarint(span, ref at, (ulong)seconds);
        }

        if (nanos != 0)
        {
            span[at++] = TimestampNanos;
            WriteVarint(span, ref at, (ulong)nanos);
        }

        WriteBytes(span, ref at, EntryLine, entry.Line.Span);
        if (entry.Metadata is { Count: > 0 } metadata)
        {
            foreach (var (name, value) in metadata)
            {
                span[at++] = EntryMetadata;
                WriteVarint(span, ref at, (uint)PairSize(name, value));
                WriteString(span, ref at, PairName, name);
                WriteString(span, ref at, PairValue, value);
            }
        }
    }

    /// <summary>Unix nanoseconds as <c>google.protobuf.Timestamp</c>: nanos always in [0, 1e9), seconds floored.</summary>
    internal static (long Seconds, int Nanos) Split(long unixNs)
    {
        var seconds = Math.DivRem(unixNs, 1_000_000_000L, out var nanos);
        return nanos < 0 ? (seconds - 1, (int)(nanos + 1_000_000_000L)) : (seconds, (int)nanos);
    }

    private static int TimestampSize(long seconds, int nanos) =>
        (seconds == 0 ? 0 : 1 + VarintSize((ulong)seconds)) + (nanos == 0 ? 0 : 1 + VarintSize((ulong)nanos));

    private static int PairSize(string name, string value)
    {
        var n = Encoding.UTF8.GetByteCount(name);
        var v = Encoding.UTF8.GetByteCount(value);
        return (n == 0 ? 0 : Field(n)) + (v == 0 ? 0 : Field(v));
    }

    /// <summary>A length-delimited field of <paramref name="length"/> bytes: tag, length, bytes.</summary>
    private static int Field(int length) => 1 + VarintSize((uint)length) + length;

    private static int VarintSize(ulong value) => CodedOutputStream.ComputeRawVarint64Size(value);

    private static void WriteVarint(Span<byte> span, ref int at, ulong value)
    {
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at++] = (byte)value;
    }

    private static void WriteBytes(Span<byte> span, ref int at, byte tag, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        span[at++] = tag;
        WriteVarint(span, ref at, (uint)bytes.Length);
        bytes.CopyTo(span[at..]);
        at += bytes.Length;
    }

    private static void WriteString(Span<byte> span, ref int at, byte tag, string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        span[at++] = tag;
        WriteVarint(span, ref at, (uint)Encoding.UTF8.GetByteCount(text));
        at += Encoding.UTF8.GetBytes(text, span[at..]);
    }
}
