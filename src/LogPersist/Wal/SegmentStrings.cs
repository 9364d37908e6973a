using System.Buffers.Binary;

namespace LogPersist.Wal;

/// <summary>
/// The string table of one segment as a reader sees it: the strings its <see cref="RecordKind.Strings"/>
/// records define, by id. Entries of format 2 refer to a template, category, event name or property
/// name by such an id instead of repeating it (<see cref="Entries.EntryFormat"/>).
/// </summary>
/// <remarks>
/// A definition record's payload:
/// <code>
/// offset size
///  0     1    format (1)
///  1     n    id, a varint (ids start at 0 in every segment)
///  1+n        the string, UTF-8, to the end of the payload
/// </code>
/// A segment is self-contained: its entries only refer to strings defined earlier in the same segment,
/// so a reader that starts in the middle of a segment first collects the definitions before its
/// position (<see cref="Collect"/>). A definition lost to damage leaves the entries that refer to it
/// readable: the missing string reads as <see cref="Missing"/>. The table is bounded
/// (<see cref="MaxIds"/>, <see cref="MaxTotalBytes"/>): definitions beyond it, which no writer of this
/// version makes, are ignored.
/// </remarks>
internal sealed class SegmentStrings
{
    public const byte DefinitionFormat = 1;

    /// <summary>Ids a segment may define: 0 to this bound, exclusive.</summary>
    public const int MaxIds = 1 << 16;

    /// <summary>The longest string a writer puts in the table, in UTF-8 bytes; longer ones stay in their entries.</summary>
    public const int MaxStringBytes = 1024;

    /// <summary>The most bytes of strings one segment's table holds for a reader.</summary>
    public const int MaxTotalBytes = 8 << 20;

    /// <summary>What an id whose definition cannot be read (damaged, or beyond the bounds) stands for.</summary>
    public static ReadOnlySpan<byte> Missing => "?"u8;

    private byte[]?[] _byId = new byte[]?[16];
    private int _bytes;

    /// <summary>Definitions absorbed.</summary>
    public int Count { get; private set; }

    /// <summary>References to an id nothing defined: each one reads as <see cref="Missing"/>.</summary>
    public long Unresolved { get; private set; }

    /// <summary>The size of a definition record's payload for a string of <paramref name="utf8Bytes"/> bytes.</summary>
    public static int DefinitionSize(int utf8Bytes) => 1 + 3 + utf8Bytes;

    /// <summary>Writes the payload of a definition of <paramref name="id"/>; returns its length.</summary>
    public static int WriteDefinition(Span<byte> destination, uint id, ReadOnlySpan<byte> utf8)
    {
        destination[0] = DefinitionFormat;
        var at = 1;
        var value = id;
        while (value >= 0x80)
        {
            destination[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[at++] = (byte)value;
        utf8.CopyTo(destination[at..]);
        return at + utf8.Length;
    }

    /// <summary>Takes in a definition record's payload; false when it is malformed or beyond the table's bounds.</summary>
    public bool Absorb(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2 || payload[0] != DefinitionFormat)
        {
            return false;
        }

        ulong id = 0;
        var at = 1;
        for (var shift = 0; ; shift += 7)
        {
            if (at >= payload.Length || shift > 21)
            {
                return false;
            }

            var b = payload[at++];
            id |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        var text = payload[at..];
        if (id >= MaxIds || text.Length > MaxStringBytes || _bytes + text.Length > MaxTotalBytes)
        {
            return false;
        }

        Set((uint)id, text.ToArray());
        return true;
    }

    /// <summary>Defines <paramref name="id"/> as <paramref name="utf8"/>.</summary>
    public void Set(uint id, byte[] utf8)
    {
        if (id >= _byId.Length)
        {
            Array.Resize(ref _byId, (int)Math.Min(MaxIds, Math.Max(id + 1, (uint)_byId.Length * 2)));
        }

        if (_byId[id] is { } earlier)
        {
            _bytes -= earlier.Length;
        }
        else
        {
            Count++;
        }

        _byId[id] = utf8;
        _bytes += utf8.Length;
    }

    /// <summary>The string of <paramref name="id"/>, or <see cref="Missing"/> (counted in <see cref="Unresolved"/>) when nothing defined it.</summary>
    public ReadOnlySpan<byte> Resolve(ulong id)
    {
        if (id < (ulong)_byId.Length && _byId[id] is { } utf8)
        {
            return utf8;
        }

        Unresolved++;
        return Missing;
    }

    /// <summary>True when <paramref name="id"/> is defined.</summary>
    public bool IsDefined(ulong id) => id < (ulong)_byId.Length && _byId[id] is not null;

    /// <summary>
    /// Collects the definitions of a segment from its first record up to (not including) the record at
    /// <paramref name="upTo"/>. Damage on the way is skipped silently: the walk that reads the records
    /// reports it, and reported it when it passed there before.
    /// </summary>
    public static SegmentStrings Collect(ReadOnlySpan<byte> segment, long sequence, long upTo)
    {
        var strings = new SegmentStrings();
        var offset = SegmentScanner.FirstRecordOffset;
        var budget = ChecksumBudget.For(segment.Length, offset);
        while (offset < upTo)
        {
            var step = SegmentScanner.Step(segment, sequence, offset, live: true, ref budget);
            if (step.Outcome == ScanOutcome.Record && step.Record.Kind == RecordKind.Strings)
            {
                strings.Absorb(segment.Slice(step.Record.PayloadOffset, step.Record.PayloadLength));
            }
            else if (step.Outcome is not (ScanOutcome.Record or ScanOutcome.Damage))
            {
                break;
            }

            offset = step.Next;
        }

        return strings;
    }
}
