namespace LogPersist.Wal;

/// <summary>
/// Bounds the bytes checksummed while walking one segment, so that the walk stays linear in the
/// segment's size whatever its bytes are. Every candidate record costs its payload length, and a
/// damaged stretch can hold a candidate at every 16 bytes, each claiming to run to the end of the
/// segment: checked one by one, a crafted segment would cost its size squared. The walk may spend one
/// segment's worth up front (a record as large as the segment is valid) plus
/// <see cref="BytesPerByte"/> for every byte it has moved past. Valid records pay for themselves
/// many times over (a record moves the walk past all of its bytes), and ordinary damage — a bit flip,
/// a torn tail — costs one or two checks, so only bytes made to exhaust the budget ever meet its end;
/// a candidate it cannot afford is treated as damage.
/// </summary>
internal struct ChecksumBudget
{
    /// <summary>Bytes that may be checksummed for each byte the walk moves past.</summary>
    public const int BytesPerByte = 4;

    private readonly long _allowance;
    private readonly int _start;
    private readonly bool _unlimited;
    private long _spent;

    private ChecksumBudget(long allowance, int start, bool unlimited)
    {
        _allowance = allowance;
        _start = start;
        _unlimited = unlimited;
        _spent = 0;
    }

    /// <summary>No bound: for one record at a known place (tests, the writer's own checks).</summary>
    public static ChecksumBudget Unlimited => new(0, 0, unlimited: true);

    /// <summary>A budget for a walk of <paramref name="segmentLength"/> bytes that starts at <paramref name="start"/>.</summary>
    public static ChecksumBudget For(int segmentLength, int start) => new(segmentLength, start, unlimited: false);

    /// <summary>Bytes checksummed so far.</summary>
    public readonly long Spent => _spent;

    /// <summary>Spends <paramref name="bytes"/> for a candidate at <paramref name="offset"/> when the walk, having come that far, can afford it.</summary>
    public bool TrySpend(int offset, uint bytes)
    {
        if (_unlimited)
        {
            return true;
        }

        var earned = _allowance + (BytesPerByte * (long)Math.Max(0, offset - _start));
        if (_spent + bytes > earned)
        {
            return false;
        }

        _spent += bytes;
        return true;
    }
}
