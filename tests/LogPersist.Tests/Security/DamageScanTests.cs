using System.Buffers.Binary;
using System.IO.Abstractions;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Security;

/// <summary>
/// A segment crafted so that every 16 bytes look like the header of a record running to the end of the
/// file, each failing its checksum only after all of it was read: checked one by one, that is quadratic
/// work. The scans that skip damage (verify, recovery, the reader) must stay linear.
/// </summary>
public sealed class DamageScanTests : IDisposable
{
    private const int Size = 4 << 20;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Verify_recovery_and_the_reader_skip_a_crafted_segment_in_linear_time()
    {
        File.WriteAllBytes(_temp.Combine(SegmentNames.FileName(1)), Crafted());

        var inspection = await Planted.WithinAsync(Limit, () => SegmentInspector.Inspect(_temp.Path, 1, live: false));
        var recovery = await Planted.WithinAsync(Limit, () => Recovery.Scan(new FileSystem(), _temp.Path, [1], WalPosition.Start, null));
        var read = await Planted.WithinAsync(Limit, () =>
        {
            using var reader = new WalReader(new FileSystem(), _temp.Path, WalPosition.Start, long.MaxValue);
            return reader.TryRead(out _);
        });

        Assert.Equal(0, inspection.DataRecords);
        Assert.NotEmpty(inspection.Damage);
        Assert.Equal(0, recovery.Records);
        Assert.False(read);
    }

    /// <summary>A valid header, then a would-be record at every 16 bytes whose length reaches the end of the file.</summary>
    internal static byte[] Crafted()
    {
        var bytes = new byte[Size];
        new SegmentHeader(1, Size, 0).Write(bytes);
        for (var offset = SegmentHeader.Size64; offset + 16 <= Size; offset += 16)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), (uint)(Size - offset - 16));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset + 4), 0xDEAD_BEEF);
            bytes[offset + 8] = (byte)RecordKind.Data;
        }

        return bytes;
    }
}
