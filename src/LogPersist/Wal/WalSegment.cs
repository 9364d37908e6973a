using System.Runtime.InteropServices;

namespace LogPersist.Wal;

/// <summary>
/// A segment the writer appends to. One 64-bit word holds both the reservation tail (low 40 bits)
/// and the number of appenders still copying into the segment (high bits), so a single atomic add
/// reserves space and registers the appender, and a sealed segment can be unmapped exactly when
/// that count drops to zero.
/// </summary>
internal sealed unsafe class WalSegment
{
    public const long AppenderUnit = 1L << 40;
    public const long TailMask = AppenderUnit - 1;

    private State _state;
    private volatile bool _sealed;

    public WalSegment(MappedSegment map, long createdUnixMs)
    {
        Map = map;
        CreatedUnixMs = createdUnixMs;
        DataLimit = (int)map.Length - RecordFormat.SegmentEndRecordSize;
        _state.Word = SegmentScanner.FirstRecordOffset;
    }

    public MappedSegment Map { get; }

    public long Sequence => Map.Sequence;

    public long CreatedUnixMs { get; }

    /// <summary>Data records must end at or before this offset; the rest is kept for the end record.</summary>
    public int DataLimit { get; }

    public bool IsSealed => _sealed;

    public long Appenders => Volatile.Read(ref _state.Word) >> 40;

    /// <summary>Offset up to which space has been reserved (may run past the end once the segment is full).</summary>
    public long ReservedTail => Volatile.Read(ref _state.Word) & TailMask;

    /// <summary>Reserves <paramref name="size"/> bytes and registers the caller as an appender; returns the record's offset.</summary>
    public long Reserve(int size) => (Interlocked.Add(ref _state.Word, AppenderUnit + size) & TailMask) - size;

    /// <summary>Unregisters an appender that called <see cref="Reserve"/>.</summary>
    public void Release() => Interlocked.Add(ref _state.Word, -AppenderUnit);

    /// <summary>
    /// Called by the one appender whose reservation crossed <see cref="DataLimit"/> (or by the closer):
    /// writes the segment-end record where valid data stops, then marks the segment sealed.
    /// </summary>
    public void Seal(long offset)
    {
        Span<byte> payload = stackalloc byte[RecordFormat.SegmentEndPayloadSize];
        payload.Clear();
        RecordFormat.Write(Map.Pointer + offset, Sequence, offset, RecordKind.SegmentEnd, payload);
        _sealed = true;
    }

    /// <summary>
    /// Seals the segment where it stands: reserves everything that is left so later appenders overflow,
    /// and writes the end record if no appender has crossed the limit already.
    /// </summary>
    public void Close()
    {
        var offset = Reserve((int)Map.Length);
        if (offset <= DataLimit)
        {
            Seal(offset);
        }

        Release();
        _sealed = true;
    }

    // Padded so that the contended word does not share a cache line with the read-mostly fields.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct State
    {
        [FieldOffset(64)]
        public long Word;
    }
}
