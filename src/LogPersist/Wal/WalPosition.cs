namespace LogPersist.Wal;

/// <summary>A place in the WAL: a segment sequence and a byte offset inside that segment.</summary>
internal readonly record struct WalPosition(long Segment, long Offset) : IComparable<WalPosition>
{
    /// <summary>The start of the WAL: before every record of every segment.</summary>
    public static WalPosition Start => new(0, 0);

    public int CompareTo(WalPosition other)
    {
        var bySegment = Segment.CompareTo(other.Segment);
        return bySegment != 0 ? bySegment : Offset.CompareTo(other.Offset);
    }

    public static bool operator <(WalPosition left, WalPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(WalPosition left, WalPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(WalPosition left, WalPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(WalPosition left, WalPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Segment}:{Offset}";
}
