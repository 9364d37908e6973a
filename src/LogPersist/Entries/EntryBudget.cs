using System.Runtime.CompilerServices;

namespace LogPersist.Entries;

/// <summary>
/// What is left of one entry's <see cref="EntryLimits"/> while it is encoded, and the cuts made so far,
/// by <see cref="CutReason"/>. Reset for every entry; allocates nothing after construction.
/// </summary>
/// <remarks>
/// A count is the number of values cut or left out for that reason: a text cut, a sequence or map
/// capped, a reference replaced, a property or scope left out. When the budget runs out inside a value,
/// that value counts once (the items it leaves out are not counted one by one); each property or scope
/// left out after it counts once more.
/// </remarks>
internal sealed class EntryBudget
{
    private readonly int[] _cuts = new int[CutReasons.Count];
    private int _valueBytes = EntryLimits.Default.ValueBytes;
    private int _textBytes = EntryLimits.Default.TextBytes;

    // The length up to which another value is written: _valueBytes, or -1 once the budget ran out or
    // the entry holds all the items it may. One comparison per value on the log call's path.
    private int _openBytes = EntryLimits.Default.ValueBytes;
    private int _items;
    private bool _exhausted;
    private bool _anyCut;

    public bool HasCuts => _anyCut;

    /// <summary>Cuts by <see cref="CutReason"/>, valid until the next <see cref="Reset"/>.</summary>
    public ReadOnlySpan<int> Cuts => _cuts;

    public void Reset(EntryLimits limits)
    {
        _valueBytes = limits.ValueBytes;
        _textBytes = limits.TextBytes;
        _openBytes = limits.ValueBytes;
        _items = 0;
        _exhausted = false;
        if (_anyCut)
        {
            Array.Clear(_cuts);
            _anyCut = false;
        }
    }

    /// <summary>True while another value fits, given the <paramref name="length"/> encoded so far.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasRoom(int length) => length <= _openBytes;

    /// <summary>Counts an item written into a sequence or map; the last one the entry may hold closes the budget.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CountItem()
    {
        if (++_items == EntryLimits.MaxItemsInAll)
        {
            _openBytes = -1;
        }
    }

    /// <summary>
    /// Counts a value cut or left out because the budget ran out. True the first time in an entry: the
    /// caller then marks the place, later ones are only counted.
    /// </summary>
    public bool LeaveOut()
    {
        Cut(CutReason.EntryBudget);
        if (_exhausted)
        {
            return false;
        }

        _exhausted = true;
        _openBytes = -1;
        return true;
    }

    /// <summary>
    /// Stops a sequence or map whose next item does not fit. True the first time in an entry (counted
    /// once, and the caller marks the place); after that the items of the values being closed are not counted.
    /// </summary>
    public bool StopItems() => !_exhausted && LeaveOut();

    /// <summary>
    /// Takes <paramref name="bytes"/> off what is left without writing them: a string the entry refers to
    /// in its segment's string table costs the entry what it would have cost written out.
    /// </summary>
    public void Charge(int bytes)
    {
        _valueBytes -= bytes;
        _openBytes -= bytes;
    }

    /// <summary>Room for the next text: a quarter of the budget, less when the budget has less left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int TextRoom(int length) => Math.Max(Math.Min(_valueBytes - length, _textBytes), 0);

    /// <summary>Counts a text cut in <paramref name="room"/> bytes: too long for any entry, or for what was left of this one.</summary>
    public void TextCut(int room)
    {
        if (room >= _textBytes)
        {
            Cut(CutReason.TextTooLong);
        }
        else
        {
            LeaveOut();
        }
    }

    public void Cut(CutReason reason, int count = 1)
    {
        _cuts[(int)reason] += count;
        _anyCut = true;
    }
}
