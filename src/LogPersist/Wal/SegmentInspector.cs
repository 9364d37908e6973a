using System.Buffers.Binary;

namespace LogPersist.Wal;

/// <summary>What the header of a segment file says about it.</summary>
internal enum SegmentHeaderState : byte
{
    /// <summary>A valid header of the supported version naming this segment's sequence.</summary>
    Valid,

    /// <summary>The header checks out but names another sequence than the file name.</summary>
    WrongSequence,

    /// <summary>The magic, version, size field or checksum is wrong (records are still read: they carry their own checksums).</summary>
    Invalid,

    /// <summary>The file is too short to hold a header and one record.</summary>
    TooShort,

    /// <summary>The file could not be opened (permissions, resources); its contents were not checked.</summary>
    Unreadable,

    /// <summary>A valid header of a later format than this version reads: its records are neither read nor judged.</summary>
    NewerVersion,

    /// <summary>Not a regular file (a symbolic link, a FIFO, a device, a directory) under a segment's name: never opened.</summary>
    NotAFile,
}

/// <summary>One damaged range found in a segment, with an estimate of the records it cost.</summary>
/// <param name="Range">Where the damage is.</param>
/// <param name="RecordsEstimate">
/// Records lost in the range, estimated from the record headers that still look plausible inside it
/// (at least one when the range holds any bytes); null when the range lies past the end of a cut
/// file, where the bytes and so the count are gone.
/// </param>
/// <param name="PastEndOfFile">True when the range reaches the end of a file shorter than its header says (or lies beyond it): the segment was cut.</param>
internal readonly record struct InspectedDamage(DamagedRange Range, long? RecordsEstimate, bool PastEndOfFile);

/// <summary>Called for each valid data or gap record of a segment, in order, with the segment's string table so far (<see cref="SegmentStrings"/>).</summary>
internal delegate void RecordVisitor(RecordKind kind, WalPosition position, ReadOnlySpan<byte> payload, SegmentStrings strings);

/// <summary>What one read-only pass over a segment file found; <see cref="StoppedAt"/> is where a reader following the segment resumes.</summary>
internal sealed record SegmentInspection(
    long Sequence,
    long FileBytes,
    SegmentHeaderState Header,
    ushort? FormatVersion,
    long DataRecords,
    long DataBytes,
    long GapRecords,
    IReadOnlyList<InspectedDamage> Damage,
    long? InProgressFrom,
    bool Vanished,
    long StoppedAt = SegmentScanner.FirstRecordOffset,
    string? Unreadable = null);

/// <summary>
/// Reads one segment file without changing anything: the file is mapped read-only and shared with
/// the writer and with retention (which may delete it meanwhile). Every record's framing and checksum
/// is checked through <see cref="SegmentScanner"/>, so a tool sees exactly what a reader would.
/// </summary>
internal static class SegmentInspector
{
    /// <param name="directory">The WAL directory.</param>
    /// <param name="sequence">The segment to read.</param>
    /// <param name="live">
    /// True when a live writer may still append to this segment: an unpublished slot then ends the pass
    /// as work in progress (<see cref="SegmentInspection.InProgressFrom"/>) instead of damage.
    /// </param>
    /// <param name="from">Offset to start at (records before it are neither visited nor checked).</param>
    /// <param name="visitor">Receives every valid data and gap record.</param>
    public static SegmentInspection Inspect(string directory, long sequence, bool live, long from = SegmentScanner.FirstRecordOffset, RecordVisitor? visitor = null)
    {
        var path = Path.Combine(directory, SegmentNames.FileName(sequence));
        using var map = MappedSegment.TryOpenReadOnly(sequence, path, out var failure, out var unusable);
        if (failure is not null)
        {
            long size;
            try
            {
                size = new FileInfo(path).Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                size = 0;
            }

            return new SegmentInspection(sequence, size, SegmentHeaderState.Unreadable, null, 0, 0, 0, [], null, Vanished: false, Unreadable: failure);
        }

        if (map is null)
        {
            if (unusable is null)
            {
                // Deleted between listing and opening: shipped (or evicted) while we looked.
                return new SegmentInspection(sequence, 0, SegmentHeaderState.Valid, null, 0, 0, 0, [], null, Vanished: true);
            }

            var length = SegmentFile.Length(path);
            if (SegmentFile.Kind(path) is not FileKind.Regular)
            {
                // Something planted under a segment's name: never opened, no data of ours.
                return new SegmentInspection(sequence, length, SegmentHeaderState.NotAFile, null, 0, 0, 0, [], null, Vanished: false, Unreadable: unusable);
            }

            var tooShort = new InspectedDamage(new DamagedRange(sequence, 0, length, DamageKind.Corrupt), null, PastEndOfFile: true);
            return new SegmentInspection(sequence, length, SegmentHeaderState.TooShort, null, 0, 0, 0, [tooShort], null, Vanished: false);
        }

        if (SegmentHeader.NewerVersion(map.Bytes) is { } newer)
        {
            // A later format: its records are not this version's to frame, so neither read nor called damage.
            return new SegmentInspection(sequence, map.Length, SegmentHeaderState.NewerVersion, newer, 0, 0, 0, [], null, Vanished: false);
        }

        var bytes = map.Bytes;
        var headerState = SegmentHeader.TryRead(bytes, out var header)
            ? header.Sequence == sequence ? SegmentHeaderState.Valid : SegmentHeaderState.WrongSequence
            : SegmentHeaderState.Invalid;
        var version = SegmentHeader.AnnouncedVersion(bytes);

        var cut = headerState != SegmentHeaderState.Invalid && header.Size > bytes.Length;
        long records = 0, dataBytes = 0, gaps = 0;
        long? inProgress = null;
        var damage = new List<InspectedDamage>();
        var offset = SegmentScanner.ClampOffset(from);
        var budget = ChecksumBudget.For(bytes.Length, offset);
        var strings = visitor is not null && offset > SegmentScanner.FirstRecordOffset ? SegmentStrings.Collect(bytes, sequence, offset) : new SegmentStrings();
        while (true)
        {
            var step = SegmentScanner.Step(bytes, sequence, offset, live, ref budget);
            if (step.Outcome == ScanOutcome.Record && step.Record.Kind == RecordKind.Strings)
            {
                strings.Absorb(bytes.Slice(step.Record.PayloadOffset, step.Record.PayloadLength));
            }
            else if (step.Outcome == ScanOutcome.Record)
            {
                if (step.Record.Kind == RecordKind.Data)
                {
                    records++;
                    dataBytes += step.Record.PayloadLength;
                }
                else if (step.Record.Kind == RecordKind.Gap)
                {
                    gaps++;
                }

                visitor?.Invoke(step.Record.Kind, new WalPosition(sequence, step.Offset), bytes.Slice(step.Record.PayloadOffset, step.Record.PayloadLength), strings);
            }
            else if (step.Outcome == ScanOutcome.Damage)
            {
                var range = new DamagedRange(sequence, step.Offset, step.Length, step.Damage);
                // A segment is created at its full size, so a range reaching the end of a file shorter
                // than its header says is the remains of a cut, whatever kind the scanner gave it.
                var pastEnd = step.Offset + (long)step.Length > bytes.Length
                    || (cut && step.Offset + (long)step.Length >= bytes.Length);
                damage.Add(new InspectedDamage(range, EstimateRecords(bytes, step.Offset, step.Length), pastEnd));
            }
            else
            {
                if (step.Outcome == ScanOutcome.Pending && step.Offset < bytes.Length && bytes[step.Offset..].IndexOfAnyExcept((byte)0) >= 0)
                {
                    // Bytes after the last published record: an append being copied right now.
                    inProgress = step.Offset;
                }

                break;
            }

            offset = step.Next;
        }

        return new SegmentInspection(sequence, bytes.Length, headerState, version, records, dataBytes, gaps, damage, inProgress, Vanished: false, StoppedAt: offset);
    }

    /// <summary>
    /// Estimates how many records a damaged range held: follows plausible record headers (a length
    /// that fits, a known kind, zero reserved bytes) from the start of the range, stepping 8 bytes at a
    /// time over anything implausible; the slot at the start always counts as one. Null when the range
    /// holds no bytes of the file at all (it lies past the end of a cut file).
    /// </summary>
    internal static long? EstimateRecords(ReadOnlySpan<byte> segment, int offset, int length)
    {
        var end = (int)Math.Min((long)offset + length, segment.Length);
        if (offset >= end)
        {
            return null;
        }

        var inFile = segment[offset..end];
        if (inFile.IndexOfAnyExcept((byte)0) < 0)
        {
            // Only zeros in the file, then the cut: whatever stood past the cut is unknown.
            return offset + (long)length > segment.Length ? null : 1;
        }

        long count = 1;
        var at = IsPlausibleHeader(segment, offset, end, out var size) ? offset + size : offset + RecordFormat.Alignment;
        while (at + RecordFormat.HeaderSize <= end)
        {
            if (IsPlausibleHeader(segment, at, end, out size))
            {
                count++;
                at += size;
            }
            else
            {
                at += RecordFormat.Alignment;
            }
        }

        return count;
    }

    private static bool IsPlausibleHeader(ReadOnlySpan<byte> segment, int offset, int end, out int size)
    {
        size = 0;
        if (offset + RecordFormat.HeaderSize > end)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(segment[offset..]);
        var kind = segment[offset + 8];
        if (length == 0 || length > end - offset - RecordFormat.HeaderSize
            || kind is not ((byte)RecordKind.Data or (byte)RecordKind.Gap or (byte)RecordKind.Strings)
            || BinaryPrimitives.ReadUInt64LittleEndian(segment[(offset + 8)..]) != kind)
        {
            return false;
        }

        size = RecordFormat.AlignedSize((int)length);
        return true;
    }
}
