using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>
/// Appends records to the active segment from any number of threads.
/// </summary>
/// <remarks>
/// The common path takes no lock and makes no system call: one atomic add reserves space and
/// registers the appender (<see cref="WalSegment.Reserve"/>), the record is copied into the
/// memory-mapped segment, its header word is published last, and a second atomic add unregisters
/// the appender. When the call returns the record is in the page cache, so it survives the death of
/// the process.
/// The appender whose reservation crosses the end of the segment writes the segment-end record; the
/// next segment is created under <c>_rollLock</c>, which only appenders that overflowed wait for.
/// Everything that can fail (creating a file, the disk cap, the disk being full) happens there, and
/// ends in a counted drop rather than an exception.
/// </remarks>
internal sealed unsafe class WalWriter : IDisposable
{
    private readonly WalOptions _options;
    private readonly IFileSystem _fileSystem;
    private readonly SegmentCatalog _catalog;
    private readonly Checkpoint _checkpoint;
    private readonly Retention _retention;
    private readonly GapLedger _gaps = new();
    private readonly WalMetrics _metrics;
    private readonly WalSyncer _syncer;
    private readonly SegmentPreparer _preparer;
    private readonly TimeProvider _time;
    private readonly int _maxPayload;
    private readonly object _rollLock = new();
    private WalSegment? _active;
    private long _nextSequence;
    private long _retryAfterTimestamp;
    private long _removalsAtFailure = -1;
    private WalDropReason _failure;
    private int _disposed;
    private int _fenced;

    public WalWriter(WalOptions options, SegmentCatalog catalog, Retention retention, Checkpoint checkpoint, WalMetrics metrics, long firstSequence)
    {
        _retention = retention;
        _checkpoint = checkpoint;
        _options = options;
        _fileSystem = options.FileSystem;
        _catalog = catalog;
        _metrics = metrics;
        _time = options.TimeProvider;
        _syncer = new WalSyncer(options);
        _preparer = new SegmentPreparer(_fileSystem, options.Directory, CreateSegmentFile, WalSegment.PretouchWindow);
        _maxPayload = options.MaxPayloadBytes;
        _nextSequence = firstSequence;
        FirstSequence = firstSequence;
    }

    /// <summary>The first segment this writer created; segments before it are from earlier runs.</summary>
    public long FirstSequence { get; }

    /// <summary>Sequence of the segment appends currently go to (0 before the first one exists).</summary>
    public long ActiveSequence => Volatile.Read(ref _active)?.Sequence ?? 0;

    /// <summary>The active segment's reservation tail (the next segment's start when there is none yet).</summary>
    public WalPosition AppendPosition => Volatile.Read(ref _active) is { } active
        ? new WalPosition(active.Sequence, active.Tail)
        : new WalPosition(_nextSequence, 0);

    public int MaxPayloadBytes => _maxPayload;

    /// <summary>Segments the background prepared and a roll then took (<see cref="SegmentPreparer"/>).</summary>
    public long PreparedSegmentsTaken => _preparer.Taken;

    /// <summary>The segment prepared and waiting for the roll; -1 when none is.</summary>
    public long PreparedSegment => _preparer.Ready;

    /// <summary>The segment being prepared or waiting for the roll; -1 when none is.</summary>
    public long PendingSegment => _preparer.Pending;

    /// <summary>The segment appends go to now, unless it is sealed or there is none.</summary>
    public WalSegment? OpenSegment => Volatile.Read(ref _active) is { IsSealed: false } segment && _options.SegmentFormat > 1 ? segment : null;

    /// <summary>
    /// Applies a new disk cap, full mode, block timeout, durability mode or flush interval while appends
    /// go on: a lower cap is enforced from the next segment on (evicting or refusing by the full mode).
    /// </summary>
    public void ApplyLive(WalOptions next)
    {
        lock (_rollLock)
        {
            _options.MaxDiskBytes = next.MaxDiskBytes;
            _options.FullMode = next.FullMode;
            _options.BlockTimeout = next.BlockTimeout;
            _options.Durability = next.Durability;
            _options.FlushInterval = next.FlushInterval;
        }

        _syncer.Change(next.Durability, next.FlushInterval);
    }

    /// <summary>
    /// Creates the first segment, so that the first append finds it ready. When the segments of earlier
    /// runs already fill the disk cap in <see cref="WalFullMode.DropOldest"/> mode, the segment is created
    /// all the same, past the cap by at most itself, and the returned task evicts the oldest segments in
    /// the background until the WAL is back under the cap; otherwise the returned task is complete.
    /// </summary>
    public Task Start()
    {
        lock (_rollLock)
        {
            if (_active is not null || !TryRoll(null, out _, evictLater: true) || _catalog.TotalBytes <= _options.MaxDiskBytes)
            {
                return Task.CompletedTask;
            }
        }

        return Task.Run(EvictOverCap);
    }

    /// <summary>
    /// Appends one record. Returns false when the record was dropped (counted by reason in the metrics
    /// and reported by a gap marker); never throws for I/O faults.
    /// </summary>
    public bool Append(ReadOnlySpan<byte> payload) => Append(RecordKind.Data, payload);

    public bool Append(RecordKind kind, ReadOnlySpan<byte> payload) => Append(kind, payload, null) == AppendOutcome.Appended;

    /// <summary>
    /// Appends one record into <paramref name="segment"/> when it is still the one appends go to, as
    /// <see cref="Append(RecordKind, ReadOnlySpan{byte})"/> does. <see cref="AppendOutcome.Moved"/>, with
    /// nothing appended or counted, when appends have moved on to a later segment: an entry that refers
    /// to the string table of <paramref name="segment"/> must then be made self-contained first.
    /// </summary>
    public AppendOutcome Append(RecordKind kind, ReadOnlySpan<byte> payload, WalSegment? segment)
    {
        if (payload.IsEmpty || payload.Length > _maxPayload)
        {
            Drop(payload.IsEmpty ? WalDropReason.Empty : WalDropReason.TooLarge, payload.Length);
            return AppendOutcome.Dropped;
        }

        var size = RecordFormat.AlignedSize(payload.Length);
        long blockDeadline = 0;
        while (true)
        {
            var active = Volatile.Read(ref _active);
            if (segment is not null && !ReferenceEquals(active, segment))
            {
                return AppendOutcome.Moved;
            }

            if (active is null || active.IsSealed)
            {
                if (!MakeRoom(active, payload.Length, ref blockDeadline))
                {
                    return AppendOutcome.Dropped;
                }

                continue;
            }

            if (TryWrite(active, kind, payload, size, out var offset))
            {
                if (WalSegment.CrossesPretouchStep(offset, offset + size))
                {
                    active.SchedulePretouch();
                    if (offset >= active.DataLimit / 2)
                    {
                        PrepareNext(active);
                    }
                }

                if (kind == RecordKind.Data)
                {
                    _metrics.Appended(payload.Length);
                }

                if (_options.Durability == WalDurability.Always)
                {
                    SyncQuietly();
                }

                return AppendOutcome.Appended;
            }

            var spin = new SpinWait();
            while (!active.IsSealed && ReferenceEquals(Volatile.Read(ref _active), active))
            {
                spin.SpinOnce();
            }
        }
    }

    /// <summary>
    /// Stops every file operation through the directory's path (new segments, evictions): the directory
    /// now belongs to another holder. Appends still fill the open segment; after it, they are dropped.
    /// </summary>
    public void Fence()
    {
        // Under the roll lock: a roll that already passed its check finishes before this returns.
        lock (_rollLock)
        {
            Volatile.Write(ref _fenced, 1);
        }

        // No roll will take a prepared segment now: its temporary file goes (the new holder never knew it).
        _preparer.Dispose();
    }

    /// <summary>A barrier: returns once every record appended before the call is on the device.</summary>
    public void Sync() => _syncer.Sync();

    /// <summary>
    /// The slow path, entered when there is no open segment. Rolls to a new segment, or decides that
    /// this record is dropped (returns false after counting it).
    /// </summary>
    private bool MakeRoom(WalSegment? seen, int payloadBytes, ref long blockDeadline)
    {
        while (true)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                Drop(Volatile.Read(ref _fenced) != 0 ? WalDropReason.Fenced : WalDropReason.Disposed, payloadBytes);
                return false;
            }

            WalDropReason failure;
            long removals;
            lock (_rollLock)
            {
                // Read under the lock: a segment freed after the failed roll must wake the wait below.
                removals = _catalog.Removals;
                if (!ReferenceEquals(_active, seen))
                {
                    return true;
                }

                if (_disposed != 0)
                {
                    continue;
                }

                if (!CanRetry())
                {
                    failure = _failure;
                }
                else if (TryRoll(seen, out failure))
                {
                    return true;
                }
            }

            if (_options.FullMode == WalFullMode.Block && failure is WalDropReason.WalFull or WalDropReason.NoSpace)
            {
                var now = _time.GetTimestamp();
                if (blockDeadline == 0)
                {
                    blockDeadline = now + (long)(_options.BlockTimeout.TotalSeconds * _time.TimestampFrequency);
                }

                if (now < blockDeadline)
                {
                    var remaining = TimeSpan.FromSeconds((double)(blockDeadline - now) / _time.TimestampFrequency);
                    if (_catalog.WaitForRemoval(removals, remaining) || _time.GetTimestamp() < blockDeadline)
                    {
                        continue;
                    }
                }

                failure = WalDropReason.BlockTimeout;
            }

            Drop(failure, payloadBytes);
            return false;
        }
    }

    private bool CanRetry() =>
        _removalsAtFailure < 0
        || _catalog.Removals != _removalsAtFailure
        || _time.GetTimestamp() >= _retryAfterTimestamp;

    /// <summary>
    /// Creates the next segment and makes it active. Runs under <c>_rollLock</c>. With
    /// <paramref name="evictLater"/> (the first segment, at open) a full cap in DropOldest mode evicts
    /// nothing here: the caller has <see cref="EvictOverCap"/> do it off the open path.
    /// </summary>
    private bool TryRoll(WalSegment? previous, out WalDropReason failure, bool evictLater = false)
    {
        var sequence = _nextSequence;
        failure = default;
        if (Volatile.Read(ref _fenced) != 0)
        {
            failure = WalDropReason.Fenced;
            return RollFailed(failure);
        }

        var evictionDeferred = evictLater && _options.FullMode == WalFullMode.DropOldest;
        while (!evictionDeferred && _catalog.TotalBytes + _options.SegmentBytes > _options.MaxDiskBytes)
        {
            if (_options.FullMode != WalFullMode.DropOldest || !EvictOldest())
            {
                failure = WalDropReason.WalFull;
                return RollFailed(failure);
            }
        }

        WalSegment segment;
        while (true)
        {
            try
            {
                segment = CreateSegment(sequence);
                break;
            }
            catch (IOException e) when (IsNoSpace(e))
            {
                LogPersistEventSource.Log.SegmentCreateFailed(_options.Directory, sequence, e);
                if (_options.FullMode == WalFullMode.DropOldest && EvictOldest())
                {
                    continue;
                }

                failure = WalDropReason.NoSpace;
                return RollFailed(failure);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogPersistEventSource.Log.SegmentCreateFailed(_options.Directory, sequence, e);
                failure = WalDropReason.IoError;
                return RollFailed(failure);
            }
        }

        _nextSequence = sequence + 1;
        _removalsAtFailure = -1;
        _metrics.WriteResumed();
        _catalog.Add(sequence, segment.Map.Length);
        _syncer.Track(segment);
        segment.SchedulePretouch();
        Volatile.Write(ref _active, segment);
        if (previous is not null)
        {
            _syncer.ReleaseQuiescent();
        }

        WritePendingGaps();
        return true;
    }

    private bool RollFailed(WalDropReason failure)
    {
        _failure = failure;
        _removalsAtFailure = _catalog.Removals;
        _metrics.WriteFailed(failure);
        _retryAfterTimestamp = _time.GetTimestamp() + (long)(_options.RetryDelay.TotalSeconds * _time.TimestampFrequency);
        return false;
    }

    private WalSegment CreateSegment(long sequence)
    {
        var path = _fileSystem.Path.Combine(_options.Directory, SegmentNames.FileName(sequence));
        if (_preparer.Take(sequence) is { } prepared)
        {
            try
            {
                _fileSystem.File.Move(prepared.Temporary, path);
                prepared.Map.Renamed(path);
                return new WalSegment(prepared.Map, prepared.CreatedUnixMs);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Made here instead, where a failure is counted and reported as the roll's own.
                LogPersistEventSource.Log.OperationFailed(_options.Directory, "taking prepared segment " + sequence, e);
                _preparer.Discard(prepared);
            }
        }

        var (temporary, createdUnixMs) = CreateSegmentFile(sequence);
        try
        {
            // The final name appears only once the header is in place: a crash leaves a .tmp file, never a half-made segment.
            _fileSystem.File.Move(temporary, path);
            return new WalSegment(MappedSegment.OpenWritable(sequence, path), createdUnixMs);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Creates segment <paramref name="sequence"/> at full size under a temporary name, its header written (and synced in the syncing modes).</summary>
    private (string Temporary, long CreatedUnixMs) CreateSegmentFile(long sequence)
    {
        var path = _fileSystem.Path.Combine(_options.Directory, SegmentNames.FileName(sequence));
        var temporary = TemporaryFile.PathFor(_fileSystem, path);
        var createdUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        try
        {
            // Blocks are reserved up front (fallocate), so a later write into the mapping cannot hit a
            // full disk, which would kill the process with SIGBUS rather than return an error.
            using (var stream = TemporaryFile.Create(_fileSystem, temporary, _options.SegmentBytes))
            {
                stream.SetLength(_options.SegmentBytes);
                Span<byte> header = stackalloc byte[SegmentHeader.Size64];
                new SegmentHeader(sequence, _options.SegmentBytes, createdUnixMs).Write(header, _options.SegmentFormat);
                stream.Write(header);
                if (_options.Durability != WalDurability.PageCache)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            return (temporary, createdUnixMs);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Has the segment after <paramref name="active"/> prepared in the background, once the active one is
    /// half full, when the disk cap has room for both (a WAL at its cap makes its next segment at the roll,
    /// where it evicts first).
    /// </summary>
    private void PrepareNext(WalSegment active)
    {
        if (Volatile.Read(ref _fenced) == 0 && Volatile.Read(ref _disposed) == 0
            && _catalog.TotalBytes + _options.SegmentBytes <= _options.MaxDiskBytes)
        {
            _preparer.Prepare(active.Sequence + 1);
        }
    }

    /// <summary>Deletes the oldest segment to stay under the cap (<see cref="Retention"/>), counting its unshipped records as dropped. Runs under <c>_rollLock</c>.</summary>
    private bool EvictOldest()
    {
        var carried = new List<GapMarker>();
        if (!_retention.TryEvictOldest(_checkpoint.Position, carried, out var lost))
        {
            return false;
        }

        if (lost is { } eviction)
        {
            var nowUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            AddGap(WalDropReason.OldestEvicted, eviction.Records, eviction.Bytes, eviction.FromUnixMs == 0 ? nowUnixMs : eviction.FromUnixMs, nowUnixMs);
        }

        // Markers of earlier losses inside the evicted segment move forward, so the stream never forgets a gap.
        foreach (var gap in carried)
        {
            _gaps.Add(gap);
        }

        return true;
    }

    private void Drop(WalDropReason reason, long payloadBytes)
    {
        var nowUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        AddGap(reason, 1, payloadBytes, nowUnixMs, nowUnixMs);

        // A record dropped while a fresh segment is already open (a race with the roll, or an oversized
        // record) gets its marker right away instead of waiting for the next roll.
        if (reason != WalDropReason.Disposed && Volatile.Read(ref _active) is { IsSealed: false })
        {
            WritePendingGaps();
        }
    }

    private void AddGap(WalDropReason reason, long records, long bytes, long fromUnixMs, long toUnixMs)
    {
        _metrics.RecordsDropped(reason, records);
        LogPersistEventSource.Log.RecordsDropped(_options.Directory, reason.TagValue(), records);
        if (reason == WalDropReason.Disposed)
        {
            // No segment will be open again for this writer to mark the gap in; the metric carries it.
            return;
        }

        _gaps.Add(new GapMarker(reason, records, bytes, fromUnixMs, toUnixMs));
    }

    /// <summary>Appends a gap marker for every drop not yet marked in the WAL.</summary>
    private void WritePendingGaps()
    {
        var gaps = _gaps.TakeAll();
        if (gaps.Length == 0)
        {
            return;
        }

        Span<byte> payload = stackalloc byte[GapMarker.Size];
        foreach (var gap in gaps)
        {
            gap.Write(payload);
            if (!TryAppendToOpenSegment(RecordKind.Gap, payload))
            {
                // The segment filled up meanwhile: keep the marker for the next roll.
                _gaps.Add(gap);
            }
        }
    }

    /// <summary>
    /// Appends into <paramref name="segment"/> while it is open, without entering the slow path (no roll,
    /// no drop): false when it has filled up. For the records of its string table.
    /// </summary>
    public static bool TryAppendTo(WalSegment segment, RecordKind kind, ReadOnlySpan<byte> payload) =>
        !segment.IsSealed && TryWrite(segment, kind, payload, RecordFormat.AlignedSize(payload.Length), out _);

    /// <summary>Appends into the open segment without entering the slow path (no roll, no drop).</summary>
    private bool TryAppendToOpenSegment(RecordKind kind, ReadOnlySpan<byte> payload)
    {
        var segment = Volatile.Read(ref _active);
        if (segment is null || segment.IsSealed)
        {
            return false;
        }

        return TryWrite(segment, kind, payload, RecordFormat.AlignedSize(payload.Length), out _);
    }

    /// <summary>
    /// The one reserve-write-publish routine: reserves <paramref name="size"/> bytes with one atomic add,
    /// copies the record and publishes its header, and releases the reservation. False when the
    /// reservation crossed the end of the segment; the first one to cross seals it where valid data ends.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool TryWrite(WalSegment segment, RecordKind kind, ReadOnlySpan<byte> payload, int size, out long offset)
    {
        offset = segment.Reserve(size);
        if (offset + size <= segment.DataLimit)
        {
            RecordFormat.Write(segment.Map.Pointer + offset, segment.Sequence, offset, kind, payload);
            segment.Release();
            return true;
        }

        if (offset <= segment.DataLimit)
        {
            // This reservation is the first past the limit: close the segment where valid data ends.
            segment.Seal(offset);
        }

        segment.Release();
        return false;
    }

    private void SyncQuietly()
    {
        try
        {
            _syncer.Sync();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            LogPersistEventSource.Log.OperationFailed(_options.Directory, "sync", e);
        }
    }

    private void TryDelete(string path)
    {
        try
        {
            _fileSystem.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(_options.Directory, "cleanup of " + path, e);
        }
    }

    // ENOSPC is 28 on Linux and macOS; .NET reports a failed preallocation with its own HResult and message.
    private static bool IsNoSpace(IOException e) =>
        e.HResult is 28 or unchecked((int)0x80070070) or unchecked((int)0x80070027)
        || e.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Seals the active segment, waits (bounded) for appenders still copying, syncs in the syncing modes
    /// and unmaps. Later appends are dropped with reason <see cref="WalDropReason.Disposed"/>.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_rollLock)
        {
            WritePendingGaps();
            if (_gaps.HasPending)
            {
                // A marker did not fit the last segment: it gets a segment of its own rather than be lost.
                TryRoll(Volatile.Read(ref _active), out _);
            }

            var active = Volatile.Read(ref _active);
            active?.Close();

            // Appenders copy a few hundred bytes; a second is far beyond any live one. A thread frozen
            // longer than that keeps its segment mapped (leaked) rather than crash on an unmapped page.
            var deadline = Environment.TickCount64 + 1000;
            var spin = new SpinWait();
            while (active is not null && active.Appenders != 0 && Environment.TickCount64 < deadline)
            {
                spin.SpinOnce();
            }

            if (_options.Durability != WalDurability.PageCache)
            {
                SyncQuietly();
            }

            _syncer.ReleaseQuiescent();
            _syncer.Dispose();
            _preparer.Dispose();
        }
    }

    /// <summary>
    /// The background half of <see cref="Start"/>: evicts the oldest segments of earlier runs, one per hold
    /// of <c>_rollLock</c> and each counted and marked as <see cref="EvictOldest"/> does, until the WAL is
    /// back under the cap its first segment was let past. Stops for good once the writer is disposed or
    /// fenced (both wait for the eviction under way, so none touches the directory after them) or the
    /// full mode is no longer DropOldest; a roll meanwhile evicts for itself as usual. Never throws.
    /// </summary>
    private void EvictOverCap()
    {
        try
        {
            while (true)
            {
                lock (_rollLock)
                {
                    if (Volatile.Read(ref _disposed) != 0 || Volatile.Read(ref _fenced) != 0 || _options.FullMode != WalFullMode.DropOldest
                        || _catalog.TotalBytes <= _options.MaxDiskBytes
                        || !_catalog.TryGetOldest(out var oldest) || oldest >= FirstSequence
                        || !EvictOldest())
                    {
                        return;
                    }

                    // The marker goes into the open segment now rather than at the next roll.
                    WritePendingGaps();
                }
            }
        }
        catch (Exception e)
        {
            // Whatever went wrong, the next roll evicts for itself; the host never sees it.
            LogPersistEventSource.Log.OperationFailed(_options.Directory, "evicting segments over the disk cap after open", e);
        }
    }
}

/// <summary>What became of a record given to <see cref="WalWriter.Append(RecordKind, ReadOnlySpan{byte}, WalSegment?)"/>.</summary>
internal enum AppendOutcome : byte
{
    /// <summary>In the WAL.</summary>
    Appended,

    /// <summary>Dropped, counted and marked by a gap marker.</summary>
    Dropped,

    /// <summary>Not appended: appends moved on from the segment the record was made for.</summary>
    Moved,
}
