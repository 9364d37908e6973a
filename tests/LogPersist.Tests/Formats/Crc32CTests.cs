using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using LogPersist.Wal;

namespace LogPersist.Tests.Formats;

/// <summary>
/// Known answers for CRC-32C, the checksum of every version 1 record, segment header and checkpoint. The check value
/// and the iSCSI vectors (RFC 3720, B.4) come from outside LogPersist; the fixtures' checksums were made by a separate
/// implementation (Fixtures/v1/make-fixtures.py) and are checked where LogPersist reads them.
/// </summary>
public sealed class Crc32CTests
{
    /// <summary>CRC-32C as LogPersist computes it: hardware steps of <see cref="BitOperations.Crc32C(uint, byte)"/>, all ones in and out.</summary>
    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFF_FFFFu;
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    [Theory]
    [InlineData("123456789", 0xE306_9283u)]
    [InlineData("", 0x0000_0000u)]
    public void Crc32C_of_text_gives_the_known_check_value(string text, uint expected) =>
        Assert.Equal(expected, Crc32C(Encoding.ASCII.GetBytes(text)));

    [Theory]
    [InlineData(0x00, 0x8A91_36AAu)]
    [InlineData(0xFF, 0x62A8_AB43u)]
    public void Crc32C_of_32_equal_bytes_gives_the_iSCSI_vector(byte value, uint expected) =>
        Assert.Equal(expected, Crc32C(Enumerable.Repeat(value, 32).ToArray()));

    [Theory]
    [InlineData(0L, 0L, 0x0231_50D1u)]
    [InlineData(7L, 64L, 0xDD56_8B90u)]
    [InlineData(8L, 64L, 0xC81A_FFDBu)]
    public void A_record_checksum_is_the_CRC_32C_of_sequence_offset_length_kind_and_payload(long segment, long offset, uint expected)
    {
        var payload = Encoding.ASCII.GetBytes("123456789");

        // The documented input: sequence (8 bytes), offset (8), length (4) and kind (8), little endian, then the payload.
        var input = new byte[28 + payload.Length];
        BinaryPrimitives.WriteInt64LittleEndian(input, segment);
        BinaryPrimitives.WriteInt64LittleEndian(input.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(16), (uint)payload.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(20), (ulong)RecordKind.Data);
        payload.CopyTo(input, 28);

        Assert.Equal(expected, Crc32C(input));
        Assert.Equal(expected, RecordFormat.Checksum(segment, offset, (uint)payload.Length, RecordKind.Data, payload));
    }
}
