using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using LogPersist.Wal;

namespace LogPersist.Entries;

/// <summary>
/// Encodes entries into the WAL payload format (<see cref="EntryFormat"/>) within their
/// <see cref="Limits"/>. One instance reuses one buffer; it is not thread-safe. Never throws on odd
/// input: unusual values become strings, invalid UTF-16 becomes U+FFFD, and what does not fit the
/// limits is cut where it stops, with a marker, and counted (<see cref="Cuts"/>); the entry itself is
/// always written, with a <c>cut</c> summary after its scopes (<see cref="EntryFlags.Cut"/>).
/// </summary>
internal sealed class EntryEncoder
{
    private const int FlagsOffset = 10;

    private readonly PayloadWriter _out;
    private readonly EntryBudget _budget = new();
    private readonly ValueEncoder _values;
    private int _propertiesAt;
    private int _propertiesAnnounced;
    private int _propertiesLeftOut;
    private int _scopeCountAt;
    private int _scopeCount;

    // The string tables of the WAL the next entry goes to, and the segment its references are for.
    private readonly CachedString[] _cache = new CachedString[64];
    private readonly List<(uint Id, InternedString Text)> _used = [];
    private StringIds? _strings;
    private WalSegment? _segment;
    private long _segmentSequence = -1;
    private bool _ended;
    private PayloadWriter? _selfContained;

    public EntryEncoder(int initialCapacity = 1024)
        : this(EntryLimits.Default, initialCapacity)
    {
    }

    public EntryEncoder(EntryLimits limits, int initialCapacity = 1024)
    {
        _out = new PayloadWriter(initialCapacity);
        _values = new ValueEncoder(_out, _budget);
        Limits = limits;
    }

    /// <summary>The limits of the entries encoded from the next <see cref="Begin"/> or <see cref="Encode"/> on.</summary>
    public EntryLimits Limits { get; set; }

    /// <summary>The segment whose string table the entry being encoded refers to; null when it refers to none (format 1).</summary>
    public WalSegment? Segment => _segment;

    /// <summary>
    /// Has the next entries refer to the string table of the segment <paramref name="strings"/>' WAL appends
    /// to now (format 2), or to none (null: format 1). Append the entry with
    /// <see cref="WriteAheadLog.Append(EntryEncoder)"/>, which knows what to do if appends moved on meanwhile.
    /// </summary>
    public void UseStrings(StringIds? strings)
    {
        _strings = strings;
        _segment = strings?.OpenSegment;
        _segmentSequence = _segment?.Sequence ?? -1;
    }

    /// <summary>
    /// The last entry as a self-contained format 1 payload, every string it referred to written out:
    /// for when appends moved on from <see cref="Segment"/> before it was appended.
    /// </summary>
    public ReadOnlySpan<byte> SelfContained()
    {
        if (_segment is null)
        {
            return _out.Written;
        }

        var strings = new SegmentStrings();
        foreach (var (id, text) in _used)
        {
            strings.Set(id, text.Utf8);
        }

        if (!EntryView.TryDecode(_out.Written, strings, out var view))
        {
            return _out.Written;
        }

        _selfContained ??= new PayloadWriter(_out.Length + 256);
        view.WriteSelfContained(_selfContained);
        return _selfContained.Written;
    }

    /// <summary>Whether anything of the last entry was cut (<see cref="Cuts"/>).</summary>
    public bool HasCuts => _budget.HasCuts;

    /// <summary>The last entry's cuts, indexed by <see cref="CutReason"/>; valid until the next entry starts.</summary>
    public ReadOnlySpan<int> Cuts => _budget.Cuts;

    /// <summary>Encodes <paramref name="entry"/>; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(LogEntry entry)
    {
        Span<byte> trace = stackalloc byte[TraceBytes];
        if (!TryParseHex(entry.TraceId, trace[..16]) || !TryParseHex(entry.SpanId, trace[16..]))
        {
            trace = default;
        }

        // The category is a string here: it is written between the header and the optional fields.
        var header = new EntryHeader
        {
            TimestampNs = entry.TimestampNs, Level = entry.Level, CategoryUtf8 = default, Trace = trace,
            Message = entry.Message, Template = entry.Template, Exception = entry.Exception,
            EventId = entry.EventId, EventName = entry.EventName,
        };
        BeginHeader(header);
        WriteReference(entry.Category, default);
        WriteOptionalFields(header);
        var properties = BeginProperties(entry.Properties.Count);
        for (var i = 0; i < properties; i++)
        {
            WriteProperty(entry.Properties[i].Key, entry.Properties[i].Value);
        }

        BeginScopes();
        foreach (var scope in entry.Scopes)
        {
            WriteScope(scope);
        }

        return End();
    }

    /// <summary>Bytes of a trace id followed by a span id, as <see cref="Begin"/> takes them.</summary>
    public const int TraceBytes = 24;

    /// <summary>
    /// <paramref name="buffer"/> (<see cref="TraceBytes"/> long) holding <paramref name="traceId"/> then
    /// <paramref name="spanId"/>, or an empty span when either is missing: the trace of an entry.
    /// </summary>
    public static Span<byte> Trace(System.Diagnostics.ActivityTraceId? traceId, System.Diagnostics.ActivitySpanId? spanId, Span<byte> buffer)
    {
        if (traceId is not { } trace || spanId is not { } span)
        {
            return default;
        }

        trace.CopyTo(buffer[..16]);
        span.CopyTo(buffer[16..]);
        return buffer;
    }

    /// <summary>
    /// Starts an entry. Continue with <see cref="BeginProperties"/> and as many <see cref="WriteProperty"/>
    /// calls as it returns, then <see cref="BeginScopes"/>, any number of <see cref="WriteScope"/> calls,
    /// and <see cref="End"/>.
    /// </summary>
    public void Begin(in EntryHeader header)
    {
        BeginHeader(header);
        WriteReference(header.Category, header.CategoryUtf8);
        WriteOptionalFields(header);
    }

    /// <summary>
    /// Announces the entry's <paramref name="count"/> properties and returns how many to write: at most
    /// 65,535, the rest counted as cut (<see cref="CutReason.TooManyProperties"/>).
    /// </summary>
    public int BeginProperties(int count)
    {
        var announced = Math.Clamp(count, 0, ushort.MaxValue);
        if (count > announced)
        {
            _budget.Cut(CutReason.TooManyProperties, count - announced);
        }

        _propertiesAt = _out.Length;
        _propertiesAnnounced = announced;
        _propertiesLeftOut = 0;
        _out.WriteUInt16(announced);
        return announced;
    }

    /// <summary>Adds one of the properties announced; once the budget has run out it is left out and counted instead.</summary>
    public void WriteProperty(string name, object? value)
    {
        if (!_budget.HasRoom(_out.Length))
        {
            _propertiesLeftOut++;
            _budget.LeaveOut();
            return;
        }

        // Room is looked at before the name: a name that uses it up still gets its value (a text is cut).
        WriteReference(name, default);
        _values.WriteValue(value, 0);
    }

    public void BeginScopes()
    {
        if (_propertiesLeftOut > 0)
        {
            _out.PatchUInt16(_propertiesAt, _propertiesAnnounced - _propertiesLeftOut);
        }

        _scopeCountAt = _out.Length;
        _scopeCount = 0;
        _out.WriteUInt16(0);
    }

    /// <summary>
    /// Adds a scope. A key/value-list scope (<c>BeginScope("Order {Id}", id)</c>, a dictionary) becomes a
    /// map of its pairs without the <c>{OriginalFormat}</c> template; one holding only the template becomes its text.
    /// </summary>
    public void WriteScope(object? value)
    {
        if (_scopeCount == ushort.MaxValue)
        {
            _budget.Cut(CutReason.TooManyProperties);
            return;
        }

        if (!_budget.HasRoom(_out.Length))
        {
            _budget.LeaveOut();
            return;
        }

        _scopeCount++;
        if (value is IReadOnlyList<KeyValuePair<string, object?>> pairs)
        {
            if (HasPairBesidesTemplate(pairs))
            {
                _values.WriteScopeMap(pairs, OriginalFormat);
            }
            else
            {
                _values.WriteValue(SafeToString(value), 0);
            }

            return;
        }

        _values.WriteValue(value, 0);
    }

    /// <summary>Finishes the entry; the span is valid until the next <see cref="Begin"/> or <see cref="Encode"/>.</summary>
    public ReadOnlySpan<byte> End()
    {
        if (_ended)
        {
            // Already finished (Encode, then an append that finishes it again): the same entry.
            return _out.Written;
        }

        _ended = true;
        _out.PatchUInt16(_scopeCountAt, _scopeCount);
        if (_budget.HasCuts)
        {
            WriteCutSummary();
        }

        return _out.Written;
    }

    /// <summary>Gives up a buffer that one large entry grew, so a thread-bound encoder does not keep it, and forgets the WAL it encoded for.</summary>
    public void TrimExcess(int maxRetainedBytes)
    {
        _out.TrimExcess(maxRetainedBytes);
        _selfContained?.TrimExcess(maxRetainedBytes);
        _strings = null;
        _segment = null;
    }

    /// <summary>The key under which Microsoft.Extensions.Logging passes the message template in a state's pairs.</summary>
    public const string OriginalFormat = "{OriginalFormat}";

    /// <summary>ToString that cannot throw into the caller: a throwing ToString becomes its exception's type name.</summary>
    internal static string SafeToString(object? value) => ValueEncoder.SafeToString(value);

    private void BeginHeader(in EntryHeader entry)
    {
        _out.Reset();
        _ended = false;
        _budget.Reset(Limits);
        var flags = EntryFlags.None;
        if (entry.Message is not null) flags |= EntryFlags.Message;
        if (entry.Template is not null) flags |= EntryFlags.Template;
        if (entry.EventId != 0) flags |= EntryFlags.EventId;
        if (entry.EventName is not null) flags |= EntryFlags.EventName;
        if (entry.Exception is not null) flags |= EntryFlags.Exception;
        if (entry.Trace.Length == TraceBytes) flags |= EntryFlags.Trace;

        if (_used.Count > 0)
        {
            _used.Clear();
        }

        var header = _out.Reserve(EntryFormat.FixedHeaderBytes);
        header[0] = _segment is null ? EntryFormat.Version1 : EntryFormat.Version2;
        BinaryPrimitives.WriteInt64LittleEndian(header[1..], entry.TimestampNs);
        header[9] = (byte)entry.Level;
        header[FlagsOffset] = (byte)flags;
    }

    private void WriteOptionalFields(in EntryHeader entry)
    {
        if (entry.Message is not null) _values.WriteText(entry.Message);
        if (entry.Template is not null) WriteReference(entry.Template, default);
        if (entry.EventId != 0) _out.WriteVarint(ValueEncoder.ZigZag(entry.EventId));
        if (entry.EventName is not null) WriteReference(entry.EventName, default);
        if (entry.Exception is not null) _values.WriteText(entry.Exception);
        if (entry.Trace.Length == TraceBytes) entry.Trace.CopyTo(_out.Reserve(TraceBytes));
    }

    /// <summary>
    /// Writes a category, template, event name or property name: a string in format 1; in format 2 a
    /// reference to the segment's string table when the string is there (or worth putting there), else
    /// 0 and the string. <paramref name="utf8"/> is the text already in UTF-8, when the caller has it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteReference(string? text, ReadOnlySpan<byte> utf8)
    {
        if (_segment is not null)
        {
            if (text is not null && TryReference(text))
            {
                return;
            }

            _out.WriteVarint(0);
        }

        if (text is null || !utf8.IsEmpty)
        {
            _values.WriteText(utf8);
        }
        else
        {
            _values.WriteText(text);
        }
    }

    private bool TryReference(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        var interned = Intern(text);
        if (interned is null || interned.Utf8.Length > _budget.TextRoom(_out.Length)
            || (!interned.TryGetId(_segmentSequence, out var id) && !_strings!.TryGetId(interned, _segment!, out id)))
        {
            return false;
        }

        _out.WriteVarint((ulong)id + 1);
        _budget.Charge(interned.Utf8.Length);
        _used.Add((id, interned));
        return true;
    }

    /// <summary>
    /// The WAL's shared string for <paramref name="text"/>, looked up by reference in this encoder's small
    /// cache first: the strings of a call site (a template, its property names) are the same instances
    /// call after call, so the common case hashes no characters.
    /// </summary>
    private InternedString? Intern(string text)
    {
        ref var slot = ref _cache[Slot(text)];
        if (ReferenceEquals(slot.Text, text) && ReferenceEquals(slot.Owner, _strings))
        {
            return slot.Value;
        }

        var interned = _strings!.Intern(text);
        if (interned is not null)
        {
            slot = new CachedString(text, _strings, interned);
        }

        return interned;
    }

    /// <summary>A slot of the cache from the length and three characters: cheaper than an identity hash, and call sites rarely share all four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(string text)
    {
        var length = text.Length;
        var mix = (uint)length * 0x9E37_79B1u ^ text[0] ^ ((uint)text[length - 1] << 7) ^ ((uint)text[length >> 1] << 13);
        return (int)(mix >> 26) & (_cache.Length - 1);
    }

    private readonly record struct CachedString(string Text, StringIds Owner, InternedString Value);

    /// <summary>The cut summary: a map of reason to count, announced by <see cref="EntryFlags.Cut"/>.</summary>
    private void WriteCutSummary()
    {
        var cuts = _budget.Cuts;
        var reasons = 0;
        foreach (var count in cuts)
        {
            reasons += count > 0 ? 1 : 0;
        }

        _out.SetBits(FlagsOffset, (byte)EntryFlags.Cut);
        _out.WriteTag(ValueTag.Map);
        _out.WriteVarint(0);
        _out.WriteVarint((ulong)reasons);
        for (var i = 0; i < cuts.Length; i++)
        {
            if (cuts[i] > 0)
            {
                _out.WriteUtf8(((CutReason)i).Utf8Tag(), int.MaxValue);
                _out.WriteTag(ValueTag.Integer);
                _out.WriteVarint(ValueEncoder.ZigZag(cuts[i]));
            }
        }
    }

    private static bool HasPairBesidesTemplate(IReadOnlyList<KeyValuePair<string, object?>> pairs)
    {
        for (var i = 0; i < pairs.Count; i++)
        {
            if (pairs[i].Key != OriginalFormat)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseHex(string? hex, Span<byte> destination)
    {
        if (hex is null || hex.Length != destination.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < destination.Length; i++)
        {
            var high = HexDigit(hex[2 * i]);
            var low = HexDigit(hex[(2 * i) + 1]);
            if ((high | low) < 0)
            {
                return false;
            }

            destination[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
