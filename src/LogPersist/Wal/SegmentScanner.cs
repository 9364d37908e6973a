namespace LogPersist.Wal;

internal enum DamageKind : byte
{
    /// <summary>
    /// A record that was never published (its header word is zero): its writer died between reserving
    /// and publishing. No append that returned is lost in such a range.
    /// </summary>
    Torn,

    /// <summary>A published record that no longer checks out: bit rot, a bad write, tampering, a cut file.</summary>
    Corrupt,
}

internal enum ScanOutcome : byte
{
    /// <summary>A valid record at the current offset.</summary>
    Record,

    /// <summary>A damaged range starts at the current offset; reading resumes after it.</summary>
    Damage,

    /// <summary>Nothing (more) is published at the current offset yet; a live writer may still add records.</summary>
    Pending,

    /// <summary>No more records in this segment: its end marker was read, or it is closed and nothing valid follows.</summary>
    End,
}

/// <summary>One step of walking a segment.</summary>
internal readonly record struct ScanStep(ScanOutcome Outcome, RecordRead Record, int Offset, int Length, DamageKind Damage)
{
    /// <summary>Where the next step starts.</summary>
    public int Next => Outcome is ScanOutcome.Record or ScanOutcome.Damage ? Offset + Length : Offset;
}

/// <summary>
/// Walks the records of one segment, resynchronising on the next valid record after damage. The
/// one place that decides what is a record, what is damage and where a segment ends; the reader,
/// recovery and eviction all use it.
/// </summary>
internal static class SegmentScanner
{
    /// <summary>Offset of the first record of every segment.</summary>
    public const int FirstRecordOffset = SegmentHeader.Size64;

    /// <summary>
    /// Brings a stored offset into the range <see cref="Step"/> accepts. Offsets past the end of a file
    /// stay past it (a cut file must still report what is missing), but never near overflow.
    /// </summary>
    public static int ClampOffset(long offset) => (int)Math.Clamp(offset, FirstRecordOffset, WalOptions.MaxSegmentBytes);

    /// <summary>
    /// Reads what is at <paramref name="offset"/>. <paramref name="live"/> says whether a writer may still
    /// be appending to this segment: then zeros mean "not yet", and the walk waits instead of ending.
    /// The work is bounded by <paramref name="budget"/>: a walk costs at most a few times the segment's size.
    /// </summary>
    /// <param name="segment">The segment's bytes.</param>
    /// <param name="sequence">The segment's sequence.</param>
    /// <param name="offset">Where to read.</param>
    /// <param name="live">Whether a writer may still be appending.</param>
    /// <param name="budget">The walk's checksum budget (<see cref="ChecksumBudget"/>): one per walk of a segment, passed to every step of it.</param>
    public static ScanStep Step(ReadOnlySpan<byte> segment, long sequence, int offset, bool live, ref ChecksumBudget budget)
    {
        offset = Math.Max(offset, FirstRecordOffset);
        var record = RecordFormat.TryRead(segment, sequence, offset, ref budget);
        if (record.Status == RecordStatus.Valid)
        {
            return record.Kind == RecordKind.SegmentEnd
                ? new ScanStep(ScanOutcome.End, record, offset, 0, default)
                : new ScanStep(ScanOutcome.Record, record, offset, record.Size, default);
        }

        if (live && record.Status == RecordStatus.Empty)
        {
            // An appender has reserved this slot and not published yet, or nothing was appended yet.
            return new ScanStep(ScanOutcome.Pending, default, offset, 0, default);
        }

        // The header word is stored last, so a zero one means the record was never published: its
        // writer died mid-copy (torn). A published header that fails its checksum is corruption.
        var kind = record.Status == RecordStatus.Empty ? DamageKind.Torn : DamageKind.Corrupt;
        var next = RecordFormat.FindNextValid(segment, sequence, offset + RecordFormat.Alignment, ref budget);
        if (next >= 0)
        {
            return new ScanStep(ScanOutcome.Damage, default, offset, next - offset, kind);
        }

        if (live)
        {
            // Damage with nothing valid after it yet: later appends will give the walk a place to resume.
            return new ScanStep(ScanOutcome.Pending, default, offset, 0, default);
        }

        var rest = offset < segment.Length ? segment[offset..] : [];
        var lastNonZero = rest.LastIndexOfAnyExcept((byte)0);
        if (lastNonZero < 0)
        {
            // Segments are created at full size, so a file shorter than its header says was cut
            // afterwards: whatever stood past the cut is lost, even if the cut fell between records.
            if (SegmentHeader.TryRead(segment, out var header) && header.Size > segment.Length && offset < header.Size)
            {
                return new ScanStep(ScanOutcome.Damage, default, offset, (int)(header.Size - offset), DamageKind.Corrupt);
            }

            return new ScanStep(ScanOutcome.End, default, offset, 0, default);
        }

        // Bytes after the last valid record of a closed segment: usually the record being written when its writer died.
        return new ScanStep(ScanOutcome.Damage, default, offset, RecordFormat.AlignUp(lastNonZero + 1), kind);
    }

    /// <summary>
    /// Counts the data records of a closed segment by following record lengths, without checksums, and
    /// collects its gap markers. Used when a segment is evicted, where speed matters more than
    /// exactness on damaged data.
    /// </summary>
    public static (long Records, long Bytes) CountRecordsQuickly(ReadOnlySpan<byte> segment, int from, List<GapMarker> gaps)
    {
        long records = 0, bytes = 0;
        var offset = Math.Max(from, FirstRecordOffset);
        while (offset + RecordFormat.HeaderSize <= segment.Length)
        {
            var length = BitConverter.ToUInt32(segment[offset..]);
            var kind = segment[offset + 8];
            if (length == 0 || length > segment.Length - offset - RecordFormat.HeaderSize || kind is 0 or (byte)RecordKind.SegmentEnd or > (byte)RecordKind.Strings)
            {
                break;
            }

            if (kind == (byte)RecordKind.Data)
            {
                records++;
                bytes += length;
            }
            else if (kind == (byte)RecordKind.Gap && GapMarker.TryRead(segment.Slice(offset + RecordFormat.HeaderSize, (int)length), out var gap))
            {
                gaps.Add(gap);
            }

            offset += RecordFormat.AlignedSize((int)length);
        }

        return (records, bytes);
    }
}
