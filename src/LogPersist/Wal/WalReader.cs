using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>
/// One record read from the WAL. <see cref="Payload"/> is valid until the reader's next read;
/// <see cref="Strings"/> is the string table of its segment so far, which a format 2 entry refers to
/// (decode with <c>EntryView.TryDecode(record.Payload.Span, record.Strings, …)</c>).
/// </summary>
internal readonly record struct WalRecord(RecordKind Kind, WalPosition Position, WalPosition Next, ReadOnlyMemory<byte> Payload, SegmentStrings? Strings = null);

/// <summary>A damaged byte range the reader skipped.</summary>
internal readonly record struct DamagedRange(long Segment, long Offset, long Length, DamageKind Kind);

/// <summary>
/// Where reading stopped because the WAL holds something of a later format than this version reads:
/// a segment whose header announces a later version, or a record whose entry (or gap marker) does.
/// Nothing from <see cref="Position"/> on is read, acknowledged or deleted; a later LogPersist ships it.
/// </summary>
internal sealed record NewerFormat(WalPosition Position, string What, int Version, int Supported)
{
    public override string ToString() =>
        $"{What} at {Position} is of format version {Version}, newer than this version reads ({Supported}); it and everything after it stay in the WAL for a LogPersist that reads it";
}

/// <summary>
/// Reads records in order from a position, across segments, including records appended after the
/// reader started. <see cref="TryRead"/> returns false at the end of committed data; call it again
/// later to follow new appends. Damage is skipped, counted and reported, never thrown. The records of
/// a segment's string table are taken in, not returned; a reader that starts within a segment first
/// collects the definitions before its start.
/// </summary>
internal sealed class WalReader : IDisposable
{
    private readonly IFileSystem _fileSystem;
    private readonly string _directory;
    private readonly long _liveFrom;
    private readonly WalMetrics? _metrics;
    private readonly Action<DamagedRange>? _onDamage;
    private readonly HashSet<long> _reportedUnusable = [];
    private MappedSegment? _segment;
    private SegmentStrings _strings = new();
    private ChecksumBudget _budget;
    private byte[] _buffer = new byte[4096];
    private WalPosition _position;

    /// <param name="fileSystem">File system used to list segments.</param>
    /// <param name="directory">The WAL directory.</param>
    /// <param name="start">First position to read; earlier positions (and missing segments) move to the oldest segment at or after it.</param>
    /// <param name="liveFrom">Segments with this sequence or later may still be written to by a live writer; pass <see cref="long.MaxValue"/> for a WAL nobody writes.</param>
    /// <param name="metrics">Where skipped damage is counted, if anywhere.</param>
    /// <param name="onDamage">Called for each damaged range skipped.</param>
    public WalReader(IFileSystem fileSystem, string directory, WalPosition start, long liveFrom, WalMetrics? metrics = null, Action<DamagedRange>? onDamage = null)
    {
        _fileSystem = fileSystem;
        _directory = directory;
        _liveFrom = liveFrom;
        _metrics = metrics;
        _onDamage = onDamage;
        _position = start;
    }

    /// <summary>Position of the next record to read. Acknowledging it means everything before was consumed.</summary>
    public WalPosition Position => _position;

    public long DamagedRanges { get; private set; }

    /// <summary>Why the last attempt to open a segment failed, while it keeps failing; the reader waits there.</summary>
    public string? LastOpenFailure { get; private set; }

    /// <summary>Set when the next segment is of a later format: the reader stays before it for good.</summary>
    public NewerFormat? StoppedAt { get; private set; }

    public long DamagedBytes { get; private set; }

    public bool TryRead(out WalRecord record)
    {
        while (true)
        {
            if (_segment is null && !OpenSegmentAtOrAfter(_position.Segment))
            {
                record = default;
                return false;
            }

            var segment = _segment!;
            var step = SegmentScanner.Step(segment.Bytes, segment.Sequence, SegmentScanner.ClampOffset(_position.Offset), segment.Sequence >= _liveFrom, ref _budget);
            switch (step.Outcome)
            {
                case ScanOutcome.Record when step.Record.Kind == RecordKind.Strings:
                    _strings.Absorb(segment.Bytes.Slice(step.Record.PayloadOffset, step.Record.PayloadLength));
                    _position = new WalPosition(segment.Sequence, step.Next);
                    continue;

                case ScanOutcome.Record:
                    var payload = segment.Bytes.Slice(step.Record.PayloadOffset, step.Record.PayloadLength);
                    if (_buffer.Length < payload.Length)
                    {
                        _buffer = new byte[Math.Max(payload.Length, _buffer.Length * 2)];
                    }

                    payload.CopyTo(_buffer);
                    var at = new WalPosition(segment.Sequence, step.Offset);
                    _position = new WalPosition(segment.Sequence, step.Next);
                    record = new WalRecord(step.Record.Kind, at, _position, _buffer.AsMemory(0, payload.Length), _strings);
                    return true;

                case ScanOutcome.Damage:
                    ReportDamage(new DamagedRange(segment.Sequence, step.Offset, step.Length, step.Damage));
                    _position = new WalPosition(segment.Sequence, step.Next);
                    continue;

                case ScanOutcome.Pending:
                    // The next read is a new walk from here (the writer may have added records by then).
                    _position = new WalPosition(segment.Sequence, step.Offset);
                    _budget = ChecksumBudget.For(segment.Bytes.Length, step.Offset);
                    record = default;
                    return false;

                default:
                    // End of this segment: stay on it until a later one exists, then move there.
                    _position = new WalPosition(segment.Sequence, step.Offset);
                    if (!OpenSegmentAtOrAfter(segment.Sequence + 1))
                    {
                        record = default;
                        return false;
                    }

                    continue;
            }
        }
    }

    /// <summary>Maps the first existing segment with a sequence of at least <paramref name="sequence"/>.</summary>
    private bool OpenSegmentAtOrAfter(long sequence)
    {
        foreach (var candidate in ListSegments())
        {
            if (candidate < sequence)
            {
                continue;
            }

            if (StoppedAt is { } stop && candidate >= stop.Position.Segment)
            {
                return false;
            }

            var path = _fileSystem.Path.Combine(_directory, SegmentNames.FileName(candidate));
            var map = MappedSegment.TryOpenReadOnly(candidate, path, out var failure, out var unusable);
            if (failure is not null)
            {
                // Not readable now, for a reason unrelated to its contents: stop here and try again on
                // the next read, rather than skip (and let an acknowledgement delete) unshipped entries.
                LastOpenFailure = failure;
                LogPersistEventSource.Log.OperationFailed(_directory, "reading segment " + candidate, new IOException(failure));
                return false;
            }

            LastOpenFailure = null;
            if (map is null)
            {
                if (unusable is not null && _reportedUnusable.Add(candidate))
                {
                    // Too short to hold even one record (cut off by a crash or truncation), or not a
                    // regular file at all (something planted under a segment's name): damage, not data.
                    ReportDamage(new DamagedRange(candidate, 0, SegmentFile.Length(path), DamageKind.Torn));
                }

                continue;
            }

            if (SegmentHeader.NewerVersion(map.Bytes) is { } version)
            {
                // Records of a later format may be framed differently: never read, skip or acknowledge them.
                map.Dispose();
                if (StoppedAt is null)
                {
                    StoppedAt = new NewerFormat(new WalPosition(candidate, 0), "segment " + candidate, version, SegmentHeader.CurrentVersion);
                    Diagnostics.LogPersistEventSource.Log.NewerFormatKept(_directory, StoppedAt.ToString());
                }

                return false;
            }

            _segment?.Dispose();
            _segment = map;
            _budget = ChecksumBudget.For(map.Bytes.Length, SegmentScanner.ClampOffset(candidate == _position.Segment ? _position.Offset : 0));
            if (candidate != _position.Segment)
            {
                _position = new WalPosition(candidate, SegmentScanner.FirstRecordOffset);
            }

            // A new table for every segment (a record handed out keeps the one of its own segment).
            _strings = _position.Offset > SegmentScanner.FirstRecordOffset
                ? SegmentStrings.Collect(map.Bytes, candidate, _position.Offset)
                : new SegmentStrings();

            return true;
        }

        return false;
    }

    private List<long> ListSegments()
    {
        var sequences = new List<long>();
        try
        {
            foreach (var path in _fileSystem.Directory.EnumerateFiles(_directory, SegmentNames.SearchPattern))
            {
                if (SegmentNames.TryParse(_fileSystem.Path.GetFileName(path), out var sequence))
                {
                    sequences.Add(sequence);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(_directory, "listing segments", e);
        }

        sequences.Sort();
        return sequences;
    }

    private void ReportDamage(DamagedRange range)
    {
        DamagedRanges++;
        DamagedBytes += range.Length;
        _metrics?.DamageFound(range.Kind);
        LogPersistEventSource.Log.DamagedRangeSkipped(_directory, range.Segment, range.Offset, range.Length, range.Kind == DamageKind.Torn ? "torn" : "corrupt");
        _onDamage?.Invoke(range);
    }

    public void Dispose()
    {
        _segment?.Dispose();
        _segment = null;
    }
}
