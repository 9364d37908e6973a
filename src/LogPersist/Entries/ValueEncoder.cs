using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace LogPersist.Entries;

/// <summary>
/// Writes property and scope values into an entry within its <see cref="EntryBudget"/>: scalars as
/// they are, byte arrays as base64, sequences and maps item by item (a lazy or endless sequence is
/// enumerated no further than one item past <see cref="EntryLimits.MaxItems"/>), anything else as its
/// invariant string. A value that contains itself, nests too deep or does not fit is cut where it
/// stops, with a marker (<see cref="CutReasons.Marker"/>) in its place, and counted.
/// </summary>
internal sealed class ValueEncoder
{
    private readonly PayloadWriter _out;
    private readonly EntryBudget _budget;

    // The sequences and maps being written, outermost first: a reference to one of them is a cycle.
    private readonly object?[] _path = new object?[EntryFormat.MaxDepth];

    public ValueEncoder(PayloadWriter output, EntryBudget budget)
    {
        _out = output;
        _budget = budget;
    }

    /// <summary>Writes a text (a string value, a name, a message) in the room the budget leaves for it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteText(string text)
    {
        var room = _budget.TextRoom(_out.Length);
        if (_out.WriteString(text, room) > 0)
        {
            _budget.TextCut(room);
        }
    }

    /// <summary>Writes UTF-8 text in the room the budget leaves for it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteText(ReadOnlySpan<byte> utf8)
    {
        var room = _budget.TextRoom(_out.Length);
        if (_out.WriteUtf8(utf8, room) > 0)
        {
            _budget.TextCut(room);
        }
    }

    /// <summary>
    /// Writes a value whose room the caller looked at: a property or scope (<see cref="EntryBudget.HasRoom"/>)
    /// or an item of a sequence or map (<see cref="MayWriteItem"/>).
    /// </summary>
    public void WriteValue(object? value, int depth)
    {
        switch (value)
        {
            case null:
                _out.WriteTag(ValueTag.Null);
                return;
            case bool b:
                _out.WriteTag(b ? ValueTag.True : ValueTag.False);
                return;
            case string s:
                _out.WriteTag(ValueTag.String);
                WriteText(s);
                return;
            case int i:
                _out.WriteTag(ValueTag.Integer);
                _out.WriteVarint(ZigZag(i));
                return;
            case long or short or sbyte:
                _out.WriteTag(ValueTag.Integer);
                _out.WriteVarint(ZigZag(Convert.ToInt64(value, CultureInfo.InvariantCulture)));
                return;
            case uint or ulong or ushort or byte:
                _out.WriteTag(ValueTag.Unsigned);
                _out.WriteVarint(Convert.ToUInt64(value, CultureInfo.InvariantCulture));
                return;
            case double or float:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(d))
                {
                    _out.WriteTag(ValueTag.Double);
                    BinaryPrimitives.WriteDoubleLittleEndian(_out.Reserve(8), d);
                }
                else
                {
                    // JSON has no NaN or infinity; keep them readable as text.
                    _out.WriteTag(ValueTag.String);
                    WriteText(d.ToString(CultureInfo.InvariantCulture));
                }

                return;
            case decimal m:
                _out.WriteTag(ValueTag.Number);
                WriteText(m.ToString(CultureInfo.InvariantCulture));
                return;
            case byte[] or ReadOnlyMemory<byte> or Memory<byte> or ArraySegment<byte>:
                WriteBytes(value);
                return;
            case LogStructure or IEnumerable<KeyValuePair<string, object?>> or IDictionary or (IEnumerable and not IFormattable):
                WriteNested(value, depth);
                return;
            default:
                _out.WriteTag(ValueTag.String);
                WriteText(SafeToString(value));
                return;
        }
    }

    /// <summary>Writes a key/value-list scope as a map of its pairs, without the pair named <paramref name="skippedKey"/> (its template).</summary>
    public void WriteScopeMap(IReadOnlyList<KeyValuePair<string, object?>> pairs, string skippedKey)
    {
        _path[0] = pairs;
        try
        {
            WriteMap(null, pairs, 0, skippedKey);
        }
        finally
        {
            _path[0] = null;
        }
    }

    /// <summary>ToString that cannot throw into the caller: a throwing ToString becomes its exception's type name.</summary>
    public static string SafeToString(object? value)
    {
        try
        {
            return (value is IFormattable formattable
                ? formattable.ToString(value is DateTime or DateTimeOffset ? "O" : null, CultureInfo.InvariantCulture)
                : value?.ToString()) ?? "";
        }
        catch (Exception e)
        {
            return "<" + e.GetType().Name + " from ToString>";
        }
    }

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    /// <summary>Writes a byte array or a memory of bytes (kept out of <see cref="WriteValue"/>, whose scalars need no span).</summary>
    private void WriteBytes(object value)
    {
        ReadOnlySpan<byte> bytes = value switch
        {
            byte[] array => array,
            ReadOnlyMemory<byte> memory => memory.Span,
            Memory<byte> memory => memory.Span,
            _ => (ArraySegment<byte>)value,
        };
        _out.WriteTag(ValueTag.String);
        var room = _budget.TextRoom(_out.Length);
        if (_out.WriteBase64(bytes, room) > 0)
        {
            _budget.TextCut(room);
        }
    }

    private void WriteNested(object value, int depth)
    {
        if (depth >= EntryFormat.MaxDepth)
        {
            Cut(CutReason.TooDeep);
            return;
        }

        for (var i = 0; i < depth; i++)
        {
            if (ReferenceEquals(_path[i], value))
            {
                Cut(CutReason.Cycle);
                return;
            }
        }

        _path[depth] = value;
        try
        {
            switch (value)
            {
                case LogStructure structure:
                    WriteMap(structure.TypeTag, structure.Properties, depth);
                    break;
                case IEnumerable<KeyValuePair<string, object?>> pairs:
                    WriteMap(null, pairs, depth);
                    break;
                case IDictionary dictionary:
                    WriteDictionary(dictionary, depth);
                    break;
                default:
                    WriteSequence((IEnumerable)value, depth);
                    break;
            }
        }
        finally
        {
            // Not kept past the call: the encoder outlives it on its thread.
            _path[depth] = null;
        }
    }

    private void WriteSequence(IEnumerable sequence, int depth)
    {
        _out.WriteTag(ValueTag.Sequence);
        var countAt = _out.BeginCount();
        var written = 0;
        foreach (var item in sequence)
        {
            if (!MayWriteItem(ref written, named: false))
            {
                break;
            }

            WriteValue(item, depth + 1);
            written++;
        }

        _out.EndCount(countAt, written);
    }

    private void WriteMap(string? typeTag, IEnumerable<KeyValuePair<string, object?>> pairs, int depth, string? skippedKey = null)
    {
        _out.WriteTag(ValueTag.Map);
        WriteText(typeTag ?? "");
        var countAt = _out.BeginCount();
        var written = 0;
        if (pairs is IReadOnlyList<KeyValuePair<string, object?>> list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (skippedKey is not null && list[i].Key == skippedKey)
                {
                    continue;
                }

                if (!MayWriteItem(ref written, named: true))
                {
                    break;
                }

                WriteText(list[i].Key);
                WriteValue(list[i].Value, depth + 1);
                written++;
            }
        }
        else
        {
            foreach (var pair in pairs)
            {
                if (!MayWriteItem(ref written, named: true))
                {
                    break;
                }

                WriteText(pair.Key);
                WriteValue(pair.Value, depth + 1);
                written++;
            }
        }

        _out.EndCount(countAt, written);
    }

    private void WriteDictionary(IDictionary dictionary, int depth)
    {
        _out.WriteTag(ValueTag.Map);
        WriteText("");
        var countAt = _out.BeginCount();
        var written = 0;
        var items = dictionary.GetEnumerator();
        try
        {
            while (items.MoveNext() && MayWriteItem(ref written, named: true))
            {
                WriteText(SafeToString(items.Key));
                WriteValue(items.Value, depth + 1);
                written++;
            }
        }
        finally
        {
            (items as IDisposable)?.Dispose();
        }

        _out.EndCount(countAt, written);
    }

    /// <summary>
    /// Whether the next item of a sequence or map is written. When it is not, because the sequence has
    /// all the items it keeps or the budget ran out, a marker item (named <c>…</c> in a map) closes it and
    /// is counted in <paramref name="written"/>; for the budget only the first place gets one.
    /// </summary>
    private bool MayWriteItem(ref int written, bool named)
    {
        CutReason reason;
        if (written == EntryLimits.MaxItems)
        {
            _budget.Cut(CutReason.TooManyItems);
            reason = CutReason.TooManyItems;
        }
        else if (_budget.HasRoom(_out.Length))
        {
            _budget.CountItem();
            return true;
        }
        else if (_budget.StopItems())
        {
            reason = CutReason.EntryBudget;
        }
        else
        {
            return false;
        }

        if (named)
        {
            _out.WriteString("…", int.MaxValue);
        }

        WriteMarker(reason);
        written++;
        return false;
    }

    /// <summary>Counts a cut and writes its marker in place of the value.</summary>
    private void Cut(CutReason reason)
    {
        _budget.Cut(reason);
        WriteMarker(reason);
    }

    private void WriteMarker(CutReason reason)
    {
        _out.WriteTag(ValueTag.String);
        _out.WriteString(reason.Marker(), int.MaxValue);
    }
}
