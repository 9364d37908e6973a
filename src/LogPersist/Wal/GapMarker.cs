using System.Buffers.Binary;

namespace LogPersist.Wal;

/// <summary>
/// Payload of a <see cref="RecordKind.Gap"/> record: how many records were lost, why, and when they
/// were written, so the loss is visible to whoever reads the WAL downstream.
/// </summary>
/// <remarks>
/// <code>
/// offset size
///  0     1    version (1)
///  1     1    reason (<see cref="WalDropReason"/>)
///  2     6    reserved
///  8     8    records
/// 16     8    payload bytes
/// 24     8    first drop (or first write of an evicted segment), Unix ms
/// 32     8    last drop (or end of an evicted segment), Unix ms
/// </code>
/// </remarks>
internal readonly record struct GapMarker(WalDropReason Reason, long Records, long Bytes, long FromUnixMs, long ToUnixMs)
{
    public const int Size = 40;

    /// <summary>The version this format writes and reads; a later one is kept for a later reader.</summary>
    public const byte Version = 1;

    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        destination[0] = Version;
        destination[1] = (byte)Reason;
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], Records);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], Bytes);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], FromUnixMs);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], ToUnixMs);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out GapMarker marker)
    {
        marker = default;
        if (source.Length < Size || source[0] != Version)
        {
            return false;
        }

        marker = new GapMarker(
            (WalDropReason)source[1],
            BinaryPrimitives.ReadInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[32..]));
        return true;
    }
}
