using System.Buffers.Binary;
using System.Numerics;

namespace LogPersist.Wal;

/// <summary>
/// The fixed header at the start of every segment file.
/// </summary>
/// <remarks>
/// <code>
/// offset size
///  0     8    magic "LPWALSEG"
///  8     2    format version
/// 10     2    header size (records start here)
/// 12     4    reserved
/// 16     8    segment sequence
/// 24     8    segment size in bytes
/// 32     8    creation time, Unix milliseconds
/// 40    20    reserved
/// 60     4    CRC-32C of bytes 0..60
/// </code>
/// Readers take the sequence from the file name and only use the header to report damage, so a
/// flipped bit here costs no records. Every later format keeps the magic, the version and the checksum
/// where they are: a header of a later version is told from a damaged one by its checksum, and a
/// reader stops before such a segment rather than read (and acknowledge) records it cannot frame.
/// </remarks>
internal readonly record struct SegmentHeader(long Sequence, long Size, long CreatedUnixMs)
{
    public const int Size64 = 64;
    /// <summary>
    /// The version written: 2 since segments hold a string table (<see cref="RecordKind.Strings"/>) and
    /// entries that refer to it. A version 1 segment is read the same way; it simply has no table.
    /// </summary>
    public const ushort CurrentVersion = 2;

    /// <summary>The oldest version read.</summary>
    public const ushort OldestVersion = 1;
    private const ulong Magic = 0x4745_534C_4157_504C; // "LPWALSEG" read as little endian

    public void Write(Span<byte> destination) => Write(destination, CurrentVersion);

    /// <summary>Writes the header with the given format version (an older one only to build test segments).</summary>
    public void Write(Span<byte> destination, ushort version)
    {
        destination = destination[..Size64];
        destination.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], Size64);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], Size);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], CreatedUnixMs);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[60..], Checksum(destination));
    }

    /// <summary>Parses a header; false when the bytes are not a valid header of a supported version.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out SegmentHeader header)
    {
        header = default;
        if (source.Length < Size64
            || BinaryPrimitives.ReadUInt64LittleEndian(source) != Magic
            || BinaryPrimitives.ReadUInt16LittleEndian(source[8..]) is < OldestVersion or > CurrentVersion
            || BinaryPrimitives.ReadUInt16LittleEndian(source[10..]) != Size64
            || BinaryPrimitives.ReadUInt32LittleEndian(source[60..]) != Checksum(source))
        {
            return false;
        }

        header = new SegmentHeader(
            BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[32..]));
        return true;
    }

    /// <summary>
    /// The version of a segment header written by a later format than this one reads: the magic, a
    /// version above <see cref="CurrentVersion"/> and a checksum that matches. Null for anything else
    /// (a header of this version, a damaged header, no header at all).
    /// </summary>
    public static ushort? NewerVersion(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size64 || BinaryPrimitives.ReadUInt64LittleEndian(source) != Magic)
        {
            return null;
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
        return version > CurrentVersion && BinaryPrimitives.ReadUInt32LittleEndian(source[60..]) == Checksum(source) ? version : null;
    }

    /// <summary>The version field of anything that starts with the segment magic; null otherwise.</summary>
    public static ushort? AnnouncedVersion(ReadOnlySpan<byte> source) =>
        source.Length >= 10 && BinaryPrimitives.ReadUInt64LittleEndian(source) == Magic ? BinaryPrimitives.ReadUInt16LittleEndian(source[8..]) : null;

    private static uint Checksum(ReadOnlySpan<byte> header)
    {
        var crc = 0xFFFF_FFFFu;
        for (var i = 0; i < 60; i += 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(header[i..]));
        }

        return ~crc;
    }
}
