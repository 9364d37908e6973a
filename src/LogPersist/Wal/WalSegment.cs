using System.Runtime.InteropServices;

namespace LogPersist.Wal;

/// <summary>
/// A segment the writer appends to. One 64-bit word holds both the reservation tail (low 40 bits)
/// and the number of appenders still copying into the segment (high bits), so a single atomic add
/// reserves space and registers the appender, and a sealed segment can be unmapped exactly when
/// that count drops to zero.
/// </summary>
internal sealed unsafe class WalSegment : IThreadPoolWorkItem
{
    public const long AppenderUnit = 1L << 40;
    public const long TailMask = AppenderUnit - 1;

    /// <summary>How far ahead of the reservation tail pages are faulted in.</summary>
    public const long PretouchWindow = 4L << 20;

    /// <summary>Appends that cross a boundary of this size ask for the next pages to be faulted in (a power of two).</summary>
    public const long PretouchStep = 256L << 10;

    private const int PageSize = 4096;

    private State _state;
    private volatile bool _sealed;
    private long _touched;
    private int _touchScheduled;
    private int _nextStringId = -1;

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

    /// <summary>The reservation tail: every record reserved so far starts before it.</summary>
    public long Tail => Volatile.Read(ref _state.Word) & TailMask;

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

    /// <summary>Gives out the next id of the segment's string table (<see cref="StringIds"/>).</summary>
    public uint NextStringId() => (uint)Interlocked.Increment(ref _nextStringId);

    /// <summary>True when a reservation from <paramref name="offset"/> to <paramref name="end"/> crossed a pretouch step.</summary>
    public static bool CrossesPretouchStep(long offset, long end) => (offset ^ end) >= PretouchStep;

    /// <summary>
    /// Faults in the pages ahead of the tail on a thread-pool thread, so that appenders find them
    /// mapped. A first write to a page of a fresh file costs a page fault (microseconds), which would
    /// otherwise land on a log call about every twenty records.
    /// </summary>
    public void SchedulePretouch()
    {
        if (Interlocked.Exchange(ref _touchScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        // Registered like an appender, in the same atomic step that reads the tail: a tail within the
        // data limit proves the segment was not sealed yet, so it cannot be unmapped until Release.
        var tail = Reserve(0);
        try
        {
            if (tail > DataLimit)
            {
                return;
            }

            var end = Math.Min(tail + WindowAt(tail), Map.Length);
            var page = Math.Max(_touched, tail & ~(PageSize - 1L));
            if (page < end && PosixFiles.TryPopulateForWriting(Map.Pointer + page, end - page))
            {
                // One call faults the whole stretch in for writing, without touching its bytes.
                page = end;
            }

            for (; page < end && !_sealed; page += PageSize)
            {
                // A compare-and-swap of 0 with 0 writes nothing new, so it cannot undo an appender's
                // store to the same bytes, yet it faults the page in for writing.
                Interlocked.CompareExchange(ref *(long*)(Map.Pointer + page), 0, 0);
            }

            _touched = page;
        }
        finally
        {
            Release();
            Volatile.Write(ref _touchScheduled, 0);
        }
    }

    /// <summary>
    /// How far ahead of <paramref name="tail"/> to fault pages in: <see cref="PretouchStep"/> in a fresh
    /// segment, growing with what has been appended (twice the tail) up to <see cref="PretouchWindow"/>.
    /// A fresh segment's first append needs only its first pages; faulting all 4 MiB of a new file at
    /// once (a thousand page faults, each converting a preallocated block: tens of milliseconds of CPU on
    /// a small VM) competed with the application's start-up for the CPU when the first segment was created.
    /// </summary>
    internal static long WindowAt(long tail) => Math.Clamp(tail * 2, PretouchStep, PretouchWindow);

    // Padded so that the contended word does not share a cache line with the read-mostly fields.
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct State
    {
        [FieldOffset(64)]
        public long Word;
    }
}
