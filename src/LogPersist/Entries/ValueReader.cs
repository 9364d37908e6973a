using System.Buffers.Binary;

namespace LogPersist.Entries;

/// <summary>One value read from an encoded entry. For a sequence or map, its items follow in the reader.</summary>
internal readonly ref struct ValueToken
{
    public ValueToken(ValueTag tag, long integer, ulong unsigned, double number, ReadOnlySpan<byte> text, int count)
    {
        Tag = tag;
        Integer = integer;
        Unsigned = unsigned;
        Double = number;
        Text = text;
        Count = count;
    }

    public ValueTag Tag { get; }

    public long Integer { get; }

    public ulong Unsigned { get; }

    public double Double { get; }

    /// <summary>UTF-8 of a string or number, or the type tag of a map (empty when none).</summary>
    public ReadOnlySpan<byte> Text { get; }

    /// <summary>Items of a sequence, or name/value pairs of a map.</summary>
    public int Count { get; }
}

/// <summary>A bounds-checked cursor over encoded strings, varints and values. Every read returns false on malformed input.</summary>
internal ref struct ValueReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly Wal.SegmentStrings? _names;
    private readonly bool _nameReferences;
    private int _position;

    public ValueReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>
    /// A reader of an entry's properties: <paramref name="nameReferences"/> says their names are references
    /// into <paramref name="names"/> (format 2) rather than strings (<see cref="TryReadName"/>).
    /// </summary>
    public ValueReader(ReadOnlySpan<byte> data, bool nameReferences, Wal.SegmentStrings? names)
    {
        _data = data;
        _position = 0;
        _nameReferences = nameReferences;
        _names = names;
    }

    public readonly int Position => _position;

    public readonly ReadOnlySpan<byte> Remaining => _data[_position..];

    public bool TryReadByte(out byte value)
    {
        if (_position >= _data.Length)
        {
            value = 0;
            return false;
        }

        value = _data[_position++];
        return true;
    }

    public bool TryReadUInt16(out int value)
    {
        if (_data.Length - _position < 2)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16LittleEndian(_data[_position..]);
        _position += 2;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        if (count < 0 || _data.Length - _position < count)
        {
            bytes = default;
            return false;
        }

        bytes = _data.Slice(_position, count);
        _position += count;
        return true;
    }

    public bool TryReadVarint(out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!TryReadByte(out var b))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    public bool TryReadString(out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        return TryReadVarint(out var length) && length <= int.MaxValue && TryReadBytes((int)length, out utf8);
    }

    /// <summary>Reads a property's name: a string, or in format 2 a reference into the segment's string table.</summary>
    public bool TryReadName(out ReadOnlySpan<byte> utf8) =>
        _nameReferences ? TryReadReference(_names, out utf8) : TryReadString(out utf8);

    /// <summary>
    /// Reads a reference into <paramref name="strings"/> (<see cref="EntryFormat"/>, version 2): 0 and a
    /// string, or an id + 1. An id nothing defined reads as <see cref="Wal.SegmentStrings.Missing"/>;
    /// without a table (a payload taken out of its segment) an id cannot be read at all.
    /// </summary>
    public bool TryReadReference(Wal.SegmentStrings? strings, out ReadOnlySpan<byte> utf8)
    {
        utf8 = default;
        if (!TryReadVarint(out var reference))
        {
            return false;
        }

        if (reference == 0)
        {
            return TryReadString(out utf8);
        }

        if (strings is null)
        {
            return false;
        }

        utf8 = strings.Resolve(reference - 1);
        return true;
    }

    public bool TryReadValue(out ValueToken token)
    {
        token = default;
        if (!TryReadByte(out var tagByte))
        {
            return false;
        }

        var tag = (ValueTag)tagByte;
        switch (tag)
        {
            case ValueTag.Null or ValueTag.False or ValueTag.True:
                token = new ValueToken(tag, 0, 0, 0, default, 0);
                return true;
            case ValueTag.Integer:
                if (!TryReadVarint(out var zigzag)) return false;
                token = new ValueToken(tag, (long)(zigzag >> 1) ^ -(long)(zigzag & 1), 0, 0, default, 0);
                return true;
            case ValueTag.Unsigned:
                if (!TryReadVarint(out var unsigned)) return false;
                token = new ValueToken(tag, 0, unsigned, 0, default, 0);
                return true;
            case ValueTag.Double:
                if (!TryReadBytes(8, out var bits)) return false;
                token = new ValueToken(tag, 0, 0, BinaryPrimitives.ReadDoubleLittleEndian(bits), default, 0);
                return true;
            case ValueTag.String or ValueTag.Number:
                if (!TryReadString(out var text)) return false;
                token = new ValueToken(tag, 0, 0, 0, text, 0);
                return true;
            case ValueTag.Sequence:
                if (!TryReadCount(out var items)) return false;
                token = new ValueToken(tag, 0, 0, 0, default, items);
                return true;
            case ValueTag.Map:
                if (!TryReadString(out var typeTag) || !TryReadCount(out var pairs)) return false;
                token = new ValueToken(tag, 0, 0, 0, typeTag, pairs);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reads past one value with all its nested items; false if malformed or nested too deep.</summary>
    public bool TrySkipValue(int depth = 0)
    {
        return depth <= EntryFormat.MaxDepth + 1 && TryReadValue(out var token) && TrySkipItems(token, depth);
    }

    /// <summary>Reads past the nested items of a sequence or map whose token was just read.</summary>
    public bool TrySkipItems(in ValueToken token, int depth = 0)
    {
        for (var i = 0; i < token.Count; i++)
        {
            if ((token.Tag == ValueTag.Map && !TryReadString(out _)) || !TrySkipValue(depth + 1))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryReadCount(out int count)
    {
        // Every item takes at least one byte, which bounds a corrupt count by the bytes left.
        count = 0;
        if (!TryReadVarint(out var value) || value > (ulong)(_data.Length - _position))
        {
            return false;
        }

        count = (int)value;
        return true;
    }
}
