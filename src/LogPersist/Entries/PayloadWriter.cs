using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace LogPersist.Entries;

/// <summary>
/// The growable buffer an entry is encoded into, and the pieces of <see cref="EntryFormat"/>: tags,
/// varints, strings and counts. A string is written whole or cut at a byte limit, with a suffix saying
/// how much was cut. One instance is reused entry after entry; it is not thread-safe.
/// </summary>
internal sealed class PayloadWriter
{
    /// <summary>Most bytes a cut suffix takes: <c> …[truncated 2147483647 chars]</c>.</summary>
    public const int SuffixBytes = 40;

    /// <summary>Bytes of a count written by <see cref="BeginCount"/>: a varint padded to two bytes, so up to 16,383.</summary>
    public const int MaxPaddedCount = (1 << 14) - 1;

    private static readonly UTF8Encoding Utf8Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
    private byte[] _buffer;
    private int _length;

    public PayloadWriter(int initialCapacity) => _buffer = new byte[initialCapacity];

    public int Length => _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void Reset() => _length = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteTag(ValueTag tag) => Reserve(1)[0] = (byte)tag;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(ulong value)
    {
        EnsureCapacity(10);
        _length += WriteVarintTo(_buffer.AsSpan(_length), value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt16(int value) => BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), (ushort)value);

    public void PatchUInt16(int at, int value) => BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(at), (ushort)value);

    public void SetBits(int at, byte bits) => _buffer[at] |= bits;

    /// <summary>Reserves a count to be filled in by <see cref="EndCount"/> once the items are written; returns where it is.</summary>
    public int BeginCount()
    {
        Reserve(2);
        return _length - 2;
    }

    /// <summary>Fills in a count reserved by <see cref="BeginCount"/> (at most <see cref="MaxPaddedCount"/>).</summary>
    public void EndCount(int at, int count)
    {
        // A varint padded to two bytes: readers take the continuation bit, not the shortest form.
        _buffer[at] = (byte)((count & 0x7F) | 0x80);
        _buffer[at + 1] = (byte)(count >> 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Reserve(int count)
    {
        EnsureCapacity(count);
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    /// <summary>
    /// Writes <paramref name="value"/> as UTF-8 (invalid UTF-16 becomes U+FFFD) in at most
    /// <paramref name="maxBytes"/> bytes. A longer text keeps its start and ends in
    /// <c> …[truncated N chars]</c>. Returns the chars cut, 0 when it was written whole.
    /// </summary>
    public int WriteString(string value, int maxBytes)
    {
        // At most 3 bytes per UTF-16 char, U+FFFD for an invalid one included.
        var max = 3 * (long)value.Length;
        if (max <= 1024 && max <= maxBytes)
        {
            WriteShortString(value, (int)max);
            return 0;
        }

        return WriteLongString(value, maxBytes);
    }

    /// <summary>Writes UTF-8 text as a string in at most <paramref name="maxBytes"/> bytes; returns the bytes cut.</summary>
    public int WriteUtf8(ReadOnlySpan<byte> utf8, int maxBytes)
    {
        if (utf8.Length <= maxBytes)
        {
            WriteVarint((ulong)utf8.Length);
            utf8.CopyTo(Reserve(utf8.Length));
            return 0;
        }

        return WriteCutUtf8(utf8, maxBytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int WriteCutUtf8(ReadOnlySpan<byte> utf8, int maxBytes)
    {
        var keep = Utf8Boundary(utf8, maxBytes - SuffixBytes);
        EnsureCapacity(5 + keep + SuffixBytes);
        utf8[..keep].CopyTo(_buffer.AsSpan(_length + 5));
        var cut = utf8.Length - keep;
        CloseString(keep + WriteSuffix(_buffer.AsSpan(_length + 5 + keep), cut, " bytes]"u8));
        return cut;
    }

    /// <summary>Writes bytes as a base64 string in at most <paramref name="maxBytes"/> bytes; returns the bytes cut.</summary>
    public int WriteBase64(ReadOnlySpan<byte> data, int maxBytes)
    {
        var encoded = ((long)data.Length + 2) / 3 * 4;
        var keep = encoded <= maxBytes ? data.Length : Math.Max(0, (maxBytes - SuffixBytes) / 4 * 3);
        EnsureCapacity(5 + Base64.GetMaxEncodedToUtf8Length(keep) + SuffixBytes);
        var target = _buffer.AsSpan(_length + 5);
        Base64.EncodeToUtf8(data[..keep], target, out _, out var written);
        var cut = data.Length - keep;
        if (cut > 0)
        {
            written += WriteSuffix(target[written..], cut, " bytes]"u8);
        }

        CloseString(written);
        return cut;
    }

    /// <summary>Gives up a buffer that one large entry grew, so a reused encoder does not keep it.</summary>
    public void TrimExcess(int maxRetainedBytes)
    {
        if (_buffer.Length > maxRetainedBytes)
        {
            _buffer = new byte[Math.Min(maxRetainedBytes, 1024)];
        }
    }

    /// <summary>
    /// A string of at most 1,024 bytes, encoded where it belongs: its length takes one byte when it is
    /// under 128 bytes whatever the text, else two, and only a shorter text than that foresaw moves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteShortString(string value, int max)
    {
        if (max < 0x80)
        {
            EnsureCapacity(1 + max);
            var written = Utf8Encoding.GetBytes(value, _buffer.AsSpan(_length + 1));
            _buffer[_length] = (byte)written;
            _length += 1 + written;
            return;
        }

        EnsureCapacity(2 + max);
        var count = Utf8Encoding.GetBytes(value, _buffer.AsSpan(_length + 2));
        if (count >= 0x80)
        {
            _buffer[_length] = (byte)(count | 0x80);
            _buffer[_length + 1] = (byte)(count >> 7);
            _length += 2 + count;
        }
        else
        {
            _buffer.AsSpan(_length + 2, count).CopyTo(_buffer.AsSpan(_length + 1));
            _buffer[_length] = (byte)count;
            _length += 1 + count;
        }
    }

    /// <summary>A string that may not fit: kept out of <see cref="WriteString"/>, whose common case is a short one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int WriteLongString(string value, int maxBytes)
    {
        if (3 * (long)value.Length <= maxBytes)
        {
            var count = Utf8Encoding.GetByteCount(value);
            WriteVarint((ulong)count);
            Utf8Encoding.GetBytes(value, Reserve(count));
            return 0;
        }

        return WriteCutString(value, Math.Max(maxBytes, 0));
    }

    private int WriteCutString(string value, int maxBytes)
    {
        EnsureCapacity(5 + Math.Max(maxBytes, SuffixBytes));
        var target = _buffer.AsSpan(_length + 5, maxBytes);
        if (Utf8.FromUtf16(value, target, out _, out var whole) == OperationStatus.Done)
        {
            CloseString(whole);
            return 0;
        }

        // Only the start is encoded: the work is bounded by the limit, not by the text.
        Utf8.FromUtf16(value, target[..Math.Max(0, maxBytes - SuffixBytes)], out var read, out var written);
        var cut = value.Length - read;
        written += WriteSuffix(_buffer.AsSpan(_length + 5 + written), cut, " chars]"u8);
        CloseString(written);
        return cut;
    }

    /// <summary>Writes <c> …[truncated N{unit}</c> and returns its length; the buffer has <see cref="SuffixBytes"/> of room.</summary>
    private static int WriteSuffix(Span<byte> destination, int cut, ReadOnlySpan<byte> unit)
    {
        " …[truncated "u8.CopyTo(destination);
        var at = " …[truncated "u8.Length;
        Utf8Formatter.TryFormat(cut, destination[at..], out var digits);
        at += digits;
        unit.CopyTo(destination[at..]);
        return at + unit.Length;
    }

    /// <summary>Puts the length prefix before <paramref name="written"/> bytes staged 5 bytes past the end, and moves them up to it.</summary>
    private void CloseString(int written)
    {
        var prefixLength = VarintLength((ulong)written);
        _buffer.AsSpan(_length + 5, written).CopyTo(_buffer.AsSpan(_length + prefixLength));
        WriteVarintTo(_buffer.AsSpan(_length), (ulong)written);
        _length += prefixLength + written;
    }

    /// <summary>The longest prefix of at most <paramref name="max"/> bytes that does not end inside a UTF-8 sequence.</summary>
    private static int Utf8Boundary(ReadOnlySpan<byte> utf8, int max)
    {
        if (max <= 0)
        {
            return 0;
        }

        var cut = Math.Min(max, utf8.Length);
        while (cut > 0 && cut < utf8.Length && (utf8[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        return cut;
    }

    private static int WriteVarintTo(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    private static int VarintLength(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureCapacity(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Grow(count);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int count) => Array.Resize(ref _buffer, Math.Max(_length + count, _buffer.Length * 2));
}
