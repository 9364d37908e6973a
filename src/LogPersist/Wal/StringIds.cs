using System.Collections.Concurrent;
using System.Text;

namespace LogPersist.Wal;

/// <summary>
/// A string the writer may put in a segment's string table, with the id it has in the segment it was
/// last defined in. Shared by every thread that logs it; one per <see cref="StringIds"/>.
/// </summary>
internal sealed class InternedString
{
    private const int IdBits = 20;

    // (segment sequence << IdBits) | (id + 1); 0 before the first definition. One word, so that a
    // reader never pairs a segment with another segment's id.
    private long _definedIn;
    private int _sightings;

    public InternedString(string text, byte[] utf8)
    {
        Text = text;
        Utf8 = utf8;
    }

    public string Text { get; }

    public byte[] Utf8 { get; }

    /// <summary>The id of this string in segment <paramref name="sequence"/>, when it is defined there.</summary>
    public bool TryGetId(long sequence, out uint id)
    {
        var word = Volatile.Read(ref _definedIn);
        id = (uint)(word & ((1L << IdBits) - 1)) - 1;
        return word != 0 && word >> IdBits == sequence;
    }

    public void Defined(WalSegment segment, uint id) => Volatile.Write(ref _definedIn, (segment.Sequence << IdBits) | (id + 1));

    /// <summary>True from the second time the string is met: a string met once (an interpolated template) stays in its entry.</summary>
    public bool SeenBefore() => Volatile.Read(ref _sightings) >= 2 || Interlocked.Increment(ref _sightings) >= 2;
}

/// <summary>
/// The writer's side of the segments' string tables (<see cref="SegmentStrings"/>): which strings are
/// worth an id, and the definition record that gives a string its id in the open segment before an
/// entry refers to it. The definition is appended before the entry reserves its place, so it always
/// lies earlier in the segment than every entry that uses it.
/// </summary>
/// <remarks>
/// Bounded: at most <see cref="MaxStrings"/> strings of at most <see cref="SegmentStrings.MaxStringBytes"/>
/// bytes are known at a time (a full set is forgotten when a new segment opens, so strings met once
/// cannot keep the ones in use out for good), and a segment gives out at most
/// <see cref="SegmentStrings.MaxIds"/> ids. Past a bound a string simply stays in its entry.
/// </remarks>
internal sealed class StringIds
{
    public const int MaxStrings = 4096;

    // A UTF-16 char is at most 3 UTF-8 bytes: a string this long always fits the table's bound.
    private const int MaxChars = SegmentStrings.MaxStringBytes / 3;

    private readonly ConcurrentDictionary<string, InternedString> _byText = new(StringComparer.Ordinal);
    private readonly WalWriter _writer;
    private long _forgottenAt;

    public StringIds(WalWriter writer) => _writer = writer;

    /// <summary>The segment entries are appended to now, when one is open.</summary>
    public WalSegment? OpenSegment => _writer.OpenSegment;

    /// <summary>The shared <see cref="InternedString"/> of <paramref name="text"/>, or null when it is not worth an id (too long, the set is full).</summary>
    public InternedString? Intern(string text)
    {
        if (text.Length > MaxChars || text.Length == 0)
        {
            return null;
        }

        if (_byText.TryGetValue(text, out var known))
        {
            return known;
        }

        if (_byText.Count >= MaxStrings)
        {
            var open = _writer.ActiveSequence;
            if (Interlocked.Exchange(ref _forgottenAt, open) == open)
            {
                return null;
            }

            _byText.Clear();
        }

        return _byText.GetOrAdd(text, static t => new InternedString(t, Encoding.UTF8.GetBytes(t)));
    }

    /// <summary>
    /// The id of <paramref name="text"/> in <paramref name="segment"/>, defining it there first if needed.
    /// False when it stays in the entry: met for the first time, the segment is full or sealed, or out of ids.
    /// </summary>
    public bool TryGetId(InternedString text, WalSegment segment, out uint id)
    {
        if (text.TryGetId(segment.Sequence, out id))
        {
            return true;
        }

        if (!text.SeenBefore() || segment.IsSealed)
        {
            return false;
        }

        id = segment.NextStringId();
        if (id >= SegmentStrings.MaxIds)
        {
            return false;
        }

        Span<byte> definition = stackalloc byte[SegmentStrings.DefinitionSize(SegmentStrings.MaxStringBytes)];
        var length = SegmentStrings.WriteDefinition(definition, id, text.Utf8);
        if (!WalWriter.TryAppendTo(segment, RecordKind.Strings, definition[..length]))
        {
            return false;
        }

        text.Defined(segment, id);
        return true;
    }
}
