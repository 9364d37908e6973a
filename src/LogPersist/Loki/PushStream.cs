using System.Buffers;
using System.Runtime.CompilerServices;

namespace LogPersist.Loki;

/// <summary>
/// One entry of a push request: timestamp, the line as the UTF-8 bytes Loki stores, and (when sent as
/// such) structured metadata. The line's memory belongs to whoever built the entry and must outlive
/// every encoding of it. <see cref="Marker"/> is true for LogPersist's own marker entries (refusals,
/// drops), which Loki's refusal of never produces another marker.
/// </summary>
internal readonly record struct PushEntry(long TimestampNs, ReadOnlyMemory<byte> Line, IReadOnlyList<KeyValuePair<string, string>>? Metadata, bool Marker = false)
{
    public int LineBytes => Line.Length;
}

/// <summary>The entries of one stream in a push request.</summary>
internal sealed class PushStream(LabelSet labels)
{
    public LabelSet Labels { get; } = labels;

    public PushEntries Entries { get; } = new();
}

/// <summary>
/// A stream's entries in an array rented from a pool: a batch of thousands of entries grows no list
/// and leaves no garbage. <see cref="Release"/> hands the array back and leaves the list empty.
/// </summary>
internal sealed class PushEntries : IReadOnlyList<PushEntry>
{
    // Its own pool, not the shared one: arrays are rented on the reading thread and returned on whichever
    // thread finished the batch, and the shared pool's per-thread slots would strand them there.
    private static readonly ArrayPool<PushEntry> Pool = ArrayPool<PushEntry>.Create(1 << 17, 8);

    private PushEntry[] _items = [];
    private int _count;

    public int Count => _count;

    public PushEntry this[int index] => (uint)index < (uint)_count ? _items[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(in PushEntry entry)
    {
        if (_count == _items.Length)
        {
            var larger = Pool.Rent(Math.Max(64, _items.Length * 2));
            _items.AsSpan(0, _count).CopyTo(larger);
            Return(_items);
            _items = larger;
        }

        _items[_count++] = entry;
    }

    public void AddRange(IEnumerable<PushEntry> entries)
    {
        foreach (var entry in entries)
        {
            Add(entry);
        }
    }

    public ReadOnlySpan<PushEntry> AsSpan() => _items.AsSpan(0, _count);

    /// <summary>Returns the array to the pool; the list is empty afterwards.</summary>
    public void Release()
    {
        var items = _items;
        _items = [];
        _count = 0;
        Return(items);
    }

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<PushEntry> IEnumerable<PushEntry>.GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return _items[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => ((IEnumerable<PushEntry>)this).GetEnumerator();

    private static void Return(PushEntry[] items)
    {
        if (items.Length > 0)
        {
            Pool.Return(items, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<PushEntry>());
        }
    }

    /// <summary>Enumerates without allocating.</summary>
    public struct Enumerator(PushEntries entries)
    {
        private int _index = -1;

        public readonly PushEntry Current => entries._items[_index];

        public bool MoveNext() => ++_index < entries._count;
    }
}
