using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LogPersist.Wal;

/// <summary>What a record in a segment holds.</summary>
internal enum RecordKind : byte
{
    /// <summary>An entry appended by the application.</summary>
    Data = 1,

    /// <summary>A <see cref="GapMarker"/>: records were dropped before they reached the WAL.</summary>
    Gap = 2,

    /// <summary>The last record of a segment: the writer moved on to a later segment.</summary>
    SegmentEnd = 3,

    /// <summary>
    /// A string of the segment's string table (<see cref="SegmentStrings"/>): a template, category, event
    /// name or property name that later entries of the same segment refer to by its id.
    /// </summary>
    Strings = 4,
}

/// <summary>
/// Framing of one record inside a segment.
/// </summary>
/// <remarks>
/// <code>
/// offset size
///  0     4    payload length (1 ..), little endian
///  4     4    CRC-32C over (segment sequence, record offset, length, bytes 8..16, payload)
///  8     1    kind
///  9     7    reserved, zero
/// 16     n    payload, then zero padding to a multiple of 8
/// </code>
/// The first eight bytes (length and CRC) are written last, as one aligned 8-byte store: a reader
/// that sees them non-zero sees the whole record. Seeding the CRC with the segment sequence and the
/// offset means a record is only valid where it was written; a stale or copied record elsewhere
/// (for example inside another record's payload) never validates during resynchronisation.
/// CRC-32C is used because it is computed by one instruction per 8 bytes on x64 and ARM64
/// (<see cref="BitOperations.Crc32C(uint, ulong)"/>), detects every burst error up to 32 bits and
/// every error of up to 5 bits in records far longer than ours, and needs no dependency.
/// </remarks>
internal static class RecordFormat
{
    public const int HeaderSize = 16;
    public const int Alignment = 8;

    /// <summary>Payload of a <see cref="RecordKind.SegmentEnd"/> record.</summary>
    public const int SegmentEndPayloadSize = 8;

    /// <summary>Bytes kept free at the end of every segment so a segment-end record always fits.</summary>
    public const int SegmentEndRecordSize = HeaderSize + SegmentEndPayloadSize;

    public static int AlignedSize(int payloadLength) =>
        (HeaderSize + payloadLength + (Alignment - 1)) & ~(Alignment - 1);

    /// <summary>Writes a complete record at <paramref name="destination"/>, publishing its first 8 bytes last.</summary>
    public static unsafe void Write(byte* destination, long segment, long offset, RecordKind kind, ReadOnlySpan<byte> payload)
    {
        var length = (uint)payload.Length;
        *(ulong*)(destination + 8) = (byte)kind;
        payload.CopyTo(new Span<byte>(destination + HeaderSize, payload.Length));
        var padding = AlignedSize(payload.Length) - HeaderSize - payload.Length;
        if (padding > 0)
        {
            new Span<byte>(destination + HeaderSize + payload.Length, padding).Clear();
        }

        var crc = Checksum(segment, offset, length, kind, payload);
        // Release store: every byte above is visible before the header word that makes the record valid.
        Volatile.Write(ref *(ulong*)destination, ((ulong)crc << 32) | length);
    }

    /// <summary>Writes a record into a buffer (used for tests and for tools that build segments offline).</summary>
    public static unsafe void Write(Span<byte> destination, long segment, long offset, RecordKind kind, ReadOnlySpan<byte> payload)
    {
        if (destination.Length < AlignedSize(payload.Length))
        {
            throw new ArgumentException("Destination is too small for the record.", nameof(destination));
        }

        fixed (byte* p = destination)
        {
            Write(p, segment, offset, kind, payload);
        }
    }

    public static uint Checksum(long segment, long offset, uint length, RecordKind kind, ReadOnlySpan<byte> payload)
    {
        var crc = 0xFFFF_FFFFu;
        crc = BitOperations.Crc32C(crc, (ulong)segment);
        crc = BitOperations.Crc32C(crc, (ulong)offset);
        crc = BitOperations.Crc32C(crc, length);
        crc = BitOperations.Crc32C(crc, (ulong)(byte)kind);
        crc = Crc32C(crc, payload);
        return ~crc;
    }

    private static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        var i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i)));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref start, i));
        }

        return crc;
    }

    /// <summary>
    /// Reads the record at <paramref name="offset"/> of a segment whose bytes are <paramref name="segmentBytes"/>.
    /// </summary>
    public static RecordRead TryRead(ReadOnlySpan<byte> segmentBytes, long segment, int offset)
    {
        var unlimited = ChecksumBudget.Unlimited;
        return TryRead(segmentBytes, segment, offset, ref unlimited);
    }

    /// <summary>
    /// Reads the record at <paramref name="offset"/>, checksumming its payload only when
    /// <paramref name="budget"/> allows it; a record it cannot afford reads as invalid.
    /// </summary>
    public static RecordRead TryRead(ReadOnlySpan<byte> segmentBytes, long segment, int offset, ref ChecksumBudget budget)
    {
        if (offset < 0 || offset + HeaderSize > segmentBytes.Length)
        {
            return RecordRead.Empty;
        }

        // Acquire load of the header word, paired with the release store in Write.
        var word = Volatile.Read(ref Unsafe.As<byte, ulong>(ref Unsafe.AsRef(in segmentBytes[offset])));
        if (word == 0)
        {
            return RecordRead.Empty;
        }

        var length = (uint)word;
        var crc = (uint)(word >> 32);
        var kindByte = segmentBytes[offset + 8];
        if (length == 0 || kindByte is 0 or > (byte)RecordKind.Strings
            || length > (uint)(segmentBytes.Length - offset - HeaderSize)
            || BinaryPrimitives.ReadUInt64LittleEndian(segmentBytes.Slice(offset + 8)) != kindByte)
        {
            return RecordRead.Invalid;
        }

        if (!budget.TrySpend(offset, length))
        {
            return RecordRead.Invalid;
        }

        var kind = (RecordKind)kindByte;
        var payload = segmentBytes.Slice(offset + HeaderSize, (int)length);
        if (Checksum(segment, offset, length, kind, payload) != crc)
        {
            return RecordRead.Invalid;
        }

        return new RecordRead(RecordStatus.Valid, kind, offset + HeaderSize, (int)length, AlignedSize((int)length));
    }

    /// <summary>
    /// Finds the first valid record at or after <paramref name="from"/>, or returns -1.
    /// Runs of zero bytes are skipped without checksumming, so scanning a mostly empty segment is cheap.
    /// </summary>
    public static int FindNextValid(ReadOnlySpan<byte> segmentBytes, long segment, int from)
    {
        var unlimited = ChecksumBudget.Unlimited;
        return FindNextValid(segmentBytes, segment, from, ref unlimited);
    }

    /// <inheritdoc cref="FindNextValid(ReadOnlySpan{byte}, long, int)"/>
    /// <param name="segmentBytes">The segment.</param>
    /// <param name="segment">Its sequence.</param>
    /// <param name="from">Where to start looking.</param>
    /// <param name="budget">Bounds the bytes checksummed, so that crafted bytes cannot make the search quadratic.</param>
    public static int FindNextValid(ReadOnlySpan<byte> segmentBytes, long segment, int from, ref ChecksumBudget budget)
    {
        var offset = AlignUp(from);
        while (offset + HeaderSize <= segmentBytes.Length)
        {
            var nonZero = segmentBytes.Slice(offset).IndexOfAnyExcept((byte)0);
            if (nonZero < 0)
            {
                return -1;
            }

            // A record's first non-zero byte lies in its first 8 bytes (length or CRC), so the
            // aligned slot holding that byte is the only candidate in this stretch.
            offset = AlignDown(offset + nonZero);
            if (TryRead(segmentBytes, segment, offset, ref budget).Status == RecordStatus.Valid)
            {
                return offset;
            }

            offset += Alignment;
        }

        return -1;
    }

    public static int AlignUp(int value) => (value + (Alignment - 1)) & ~(Alignment - 1);

    private static int AlignDown(int value) => value & ~(Alignment - 1);
}

internal enum RecordStatus : byte
{
    /// <summary>Nothing published here (yet): zeros.</summary>
    Empty,

    /// <summary>Bytes that do not form a valid record: torn, partial or corrupt.</summary>
    Invalid,

    /// <summary>A complete record whose checksum matches.</summary>
    Valid,
}

/// <summary>The outcome of reading one record; positions are offsets within the segment.</summary>
internal readonly record struct RecordRead(RecordStatus Status, RecordKind Kind, int PayloadOffset, int PayloadLength, int Size)
{
    public static RecordRead Empty => default;

    public static RecordRead Invalid => new(RecordStatus.Invalid, default, 0, 0, 0);
}
