using System.IO.Abstractions;
using LogPersist.Diagnostics;
using LogPersist.Wal.Ownership;

namespace LogPersist.Wal;

/// <summary>
/// One instance's write-ahead log: a locked directory of segment files, a writer that appends from
/// any thread, readers that follow it, and the checkpoint that says what has been shipped.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    private readonly WalOptions _options;
    private readonly IFileSystem _fileSystem;
    private readonly DirectoryLock _lock;
    private readonly OwnerLease _lease;
    private readonly Checkpoint _checkpoint;
    private readonly SegmentCatalog _catalog;
    private readonly Retention _retention;
    private readonly WalWriter _writer;

    // Held by every operation through the directory's path, and by fencing: once fenced, none runs.
    private readonly object _pathLock = new();
    private int _disposed;

    private WriteAheadLog(WalOptions options, DirectoryLock directoryLock, OwnerLease lease, Checkpoint checkpoint, SegmentCatalog catalog, Retention retention, WalMetrics metrics, WalWriter writer)
    {
        _retention = retention;
        _options = options;
        _fileSystem = options.FileSystem;
        _lock = directoryLock;
        _lease = lease;
        _checkpoint = checkpoint;
        _catalog = catalog;
        Metrics = metrics;
        _writer = writer;
        Strings = new StringIds(writer);
    }

    public string Directory => _options.Directory;

    /// <summary>The file system the WAL's control files go through.</summary>
    public System.IO.Abstractions.IFileSystem FileSystem => _options.FileSystem;

    public WalMetrics Metrics { get; }

    /// <summary>The background scan of segments left by earlier runs.</summary>
    public Task<RecoveryReport> Recovery { get; private set; } = null!;

    /// <summary>The acknowledged position: everything before it has been shipped.</summary>
    public WalPosition Checkpoint => _checkpoint.Position;

    /// <summary>The first segment written by this instance; segments before it come from earlier runs.</summary>
    public long FirstLiveSegment => _writer.FirstSequence;

    public int MaxPayloadBytes => _writer.MaxPayloadBytes;

    /// <summary>The owner record as last written by this holder.</summary>
    public OwnerRecord Owner => _lease.Record;

    /// <summary>
    /// Called by <see cref="Acknowledge"/>, under the lock that orders acknowledgements, before the
    /// checkpoint moves on and shipped segments are deleted: what must be saved about the records about
    /// to be forgotten (<c>run --files</c>'s read positions) is saved here. False, or an exception,
    /// leaves the checkpoint and the segments as they are until a later acknowledgement. Set before
    /// shipping starts.
    /// </summary>
    internal Func<WriteAheadLog, bool>? BeforeForgettingShipped { get; set; }

    /// <summary>
    /// True once another holder took the directory (it was adopted, or another process wrote its owner
    /// record). From then on nothing is done through the directory's path: no acknowledgement, no
    /// deletion, no new segment; appends fill the open segment, which moved with the directory and is
    /// shipped by the adopter once this holder closes, then are dropped (reason <c>fenced</c>).
    /// </summary>
    public bool IsFenced => _lease.IsFenced;

    /// <summary>Renews the owner record now rather than at the next heartbeat.</summary>
    internal void RenewLease() => _lease.Renew();

    /// <summary>Raised once, on the lease's thread, when this holder is fenced; the argument says why.</summary>
    public event Action<string>? Fenced;

    /// <summary>
    /// Opens (creating if needed) and locks the directory, then starts appending to a new segment.
    /// When the segments of earlier runs fill the disk cap (DropOldest), the new segment goes past it
    /// and the oldest ones are evicted in the background, before the <see cref="Recovery"/> scan.
    /// Throws <see cref="WalLockedException"/> when another process holds the directory, and the
    /// file system's exception (naming the path) when it cannot be created or written.
    /// </summary>
    public static WriteAheadLog Open(WalOptions options)
    {
        options.Validate();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return OpenOnce(options);
            }
            catch (IOException e) when (attempt < 3 && options.Lease.AdoptedEpoch is null && !AdoptionArea.IsAdopted(options.FileSystem, options.Directory)
                && (e is DirectoryMovedException || !options.FileSystem.Directory.Exists(options.Directory)))
            {
                // An adopter moved the directory of an earlier run away while this one opened it: start afresh.
            }
        }
    }

    private static WriteAheadLog OpenOnce(WalOptions options)
    {
        var fileSystem = options.FileSystem;
        if (options.Lease.AdoptedEpoch is null && !AdoptionArea.IsAdopted(fileSystem, options.Directory))
        {
            DirectoryLevels.Prepare(fileSystem, options.Root, options.Directory, options.AllowGroupWritableDirectories);
        }
        else if (!fileSystem.Directory.Exists(options.Directory))
        {
            // An adopted directory is never created: its absence means another adopter moved it on.
            throw new DirectoryNotFoundException($"The adopted WAL directory '{options.Directory}' no longer exists.");
        }
        else
        {
            DirectoryLevels.Prepare(fileSystem, root: null, options.Directory, allowGroupWritable: false, create: false);
        }

        var directoryLock = DirectoryLock.Acquire(fileSystem, options.Directory);
        WalMetrics? metrics = null;
        OwnerLease? lease = null;
        WalWriter? writer = null;
        try
        {
            lease = OwnerLease.Take(fileSystem, options.Directory, options.Lease, options.OwnerDescription, options.TimeProvider);
            RemoveTemporaries(fileSystem, options.Directory);
            var checkpoint = new Checkpoint(fileSystem, options.Directory);
            var acknowledged = checkpoint.Load();
            var catalog = new SegmentCatalog();
            var last = 0L;
            foreach (var path in fileSystem.Directory.EnumerateFiles(options.Directory, SegmentNames.SearchPattern))
            {
                if (SegmentNames.TryParse(fileSystem.Path.GetFileName(path), out var sequence))
                {
                    catalog.Add(sequence, SegmentFile.Length(path));
                    last = Math.Max(last, sequence);
                }
            }

            metrics = new WalMetrics(catalog, options.Directory, () => options.MaxDiskBytes);
            var retention = new Retention(fileSystem, options.Directory, catalog);
            retention.DeleteShippedBefore(acknowledged.Segment);
            var earlier = catalog.Sequences();
            var firstSequence = Math.Max(last, acknowledged.Segment) + 1;
            writer = new WalWriter(options, catalog, retention, checkpoint, metrics, firstSequence);

            // A cap the earlier segments already fill is restored by evictions in the background: the first log call never waits for them.
            var evicting = options.CreateSegmentOnOpen ? writer.Start() : Task.CompletedTask;

            var wal = new WriteAheadLog(options, directoryLock, lease, checkpoint, catalog, retention, metrics, writer);
            lease.Fenced += wal.OnFenced;
            LogPersistEventSource.Log.WalOpened(options.Directory, earlier.Length, acknowledged.Segment, firstSequence);
            // The scan follows those evictions, as it followed them when they ran on open: it never counts a record about to be evicted.
            wal.Recovery = earlier.Length == 0
                ? Task.FromResult(new RecoveryReport(0, 0, 0, 0, 0, 0, [], TimeSpan.Zero))
                : evicting.ContinueWith(_ => Wal.Recovery.Scan(fileSystem, options.Directory, earlier, acknowledged, metrics), CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default);
            return wal;
        }
        catch
        {
            // The writer first: its background eviction stops before the directory lock is let go.
            writer?.Dispose();
            metrics?.Dispose();
            lease?.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    private void OnFenced(string reason)
    {
        lock (_pathLock)
        {
            _writer.Fence();
        }

        Fenced?.Invoke(reason);
    }

    /// <summary>The disk cap, full mode, block timeout, durability and flush interval of <paramref name="next"/>, from now on.</summary>
    public void ApplyLive(WalOptions next) => _writer.ApplyLive(next);

    /// <summary>
    /// Where the next record will be appended, or a position before it: every record appended before
    /// the call lies before it. Read without a lock; appends racing with the call may fall on either side.
    /// </summary>
    public WalPosition AppendPosition => _writer.AppendPosition;

    /// <summary>
    /// Appends a record. Returns false if it was dropped (counted in metrics, marked by a gap marker);
    /// never throws for I/O faults.
    /// </summary>
    public bool Append(ReadOnlySpan<byte> payload) => _writer.Append(payload);

    /// <summary>Appends a record of <paramref name="kind"/> (a data record or a gap marker) as <see cref="Append(ReadOnlySpan{byte})"/> does.</summary>
    public bool Append(RecordKind kind, ReadOnlySpan<byte> payload) => _writer.Append(kind, payload);

    /// <summary>
    /// Appends the entry <paramref name="encoder"/> holds. An entry that refers to the string table of a
    /// segment appends have since moved on from is appended self-contained instead (the rare entry
    /// encoded across a segment roll).
    /// </summary>
    public bool Append(Entries.EntryEncoder encoder)
    {
        var payload = encoder.End();
        var outcome = _writer.Append(RecordKind.Data, payload, encoder.Segment);
        return outcome == AppendOutcome.Moved ? _writer.Append(encoder.SelfContained()) : outcome == AppendOutcome.Appended;
    }

    /// <summary>Segments prepared in the background that a roll then took.</summary>
    internal long PreparedSegmentsTaken => _writer.PreparedSegmentsTaken;

    /// <summary>The segment prepared in the background and waiting for the roll; -1 when none is.</summary>
    internal long PreparedSegment => _writer.PreparedSegment;

    /// <summary>The segment being prepared in the background or waiting for the roll; -1 when none is.</summary>
    internal long PendingSegment => _writer.PendingSegment;

    /// <summary>The string tables of the segments this WAL writes, for the encoders of its entries.</summary>
    public StringIds Strings { get; }

    /// <summary>Returns once every record appended before the call is on the device, whatever the durability mode.</summary>
    public void Flush() => _writer.Sync();

    /// <inheritdoc cref="Flush"/>
    public Task FlushAsync(CancellationToken cancellationToken = default) =>
        Task.Run(_writer.Sync, cancellationToken);

    /// <summary>A reader starting at the checkpoint.</summary>
    public WalReader CreateReader() => CreateReader(_checkpoint.Position);

    /// <summary>A reader starting at <paramref name="position"/>; it follows records appended later.</summary>
    public WalReader CreateReader(WalPosition position) =>
        new(_fileSystem, _options.Directory, position, _writer.FirstSequence);

    /// <summary>
    /// Records that everything before <paramref name="position"/> was shipped: calls
    /// <see cref="BeforeForgettingShipped"/>, saves the checkpoint and deletes the segments entirely
    /// behind it. Returns false (and reports) if the checkpoint could not be saved, in which case the
    /// shipped segments are deleted all the same; and false, with nothing changed, if the hook refused.
    /// </summary>
    public bool Acknowledge(WalPosition position)
    {
        lock (_pathLock)
        {
            if (Volatile.Read(ref _disposed) != 0 || IsFenced)
            {
                // Closed (and the lock released) or fenced: the directory may belong to another process now.
                return false;
            }

            try
            {
                if (BeforeForgettingShipped is { } before && !before(this))
                {
                    return false;
                }
            }
            catch (Exception e)
            {
                LogPersistEventSource.Log.OperationFailed(_options.Directory, "saving what the shipped records leave behind", e);
                return false;
            }

            var saved = true;
            try
            {
                _checkpoint.Save(position);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Shipped segments are deleted all the same: on a full disk that is what frees space, and a
                // checkpoint left behind them only makes a restart start at the oldest segment that remains.
                LogPersistEventSource.Log.OperationFailed(_options.Directory, "saving the checkpoint", e);
                saved = false;
            }

            // The segment being written is never deleted; with none open, everything before the position may go.
            var active = _writer.ActiveSequence;
            _retention.DeleteShippedBefore(active == 0 ? position.Segment : Math.Min(position.Segment, active));
            return saved;
        }
    }

    /// <summary>
    /// Closes the WAL like <see cref="Dispose"/>, and when nothing is left to ship after the checkpoint
    /// (the caller stopped the only reader after it acknowledged everything) first deletes every
    /// remaining segment, so a drained directory keeps no data. Returns true when it deleted them.
    /// </summary>
    public bool DisposeIfDrained() => DisposeIfDrained(out _);

    /// <inheritdoc cref="DisposeIfDrained()"/>
    /// <param name="unreadable">Why a segment could not be read, when that is what kept them.</param>
    public bool DisposeIfDrained(out string? unreadable) => DisposeIfDrained(removeDirectory: false, out unreadable);

    /// <inheritdoc cref="DisposeIfDrained()"/>
    /// <param name="removeDirectory">
    /// When drained, also remove the directory itself (checkpoint, owner record, saved description,
    /// lock), while still holding the lock: what a drain of a gone instance's directory leaves is nothing.
    /// </param>
    /// <param name="unreadable">Why a segment could not be read, when that is what kept them.</param>
    public bool DisposeIfDrained(bool removeDirectory, out string? unreadable)
    {
        unreadable = null;
        if (Volatile.Read(ref _disposed) != 0 || IsFenced)
        {
            Dispose();
            return false;
        }

        // Closing the writer first: it may still write a pending gap marker, which is then left to ship.
        _writer.Dispose();
        bool drained;
        using (var reader = new WalReader(_fileSystem, _options.Directory, _checkpoint.Position, long.MaxValue))
        {
            // A segment that could not be opened, or one of a later format, may hold anything: that is not "nothing left".
            drained = !reader.TryRead(out _) && reader.LastOpenFailure is null && reader.StoppedAt is null;
            unreadable = reader.LastOpenFailure ?? reader.StoppedAt?.ToString();
        }

        lock (_pathLock)
        {
            drained &= !IsFenced;
            if (drained)
            {
                _retention.DeleteShippedBefore(long.MaxValue);
            }
        }

        if (drained && removeDirectory && _catalog.Count == 0)
        {
            return RemoveDirectory();
        }

        Dispose();
        return drained && _catalog.Count == 0;
    }

    /// <summary>
    /// Closes a drained WAL and removes its directory (<see cref="DrainedDirectory"/>), best effort;
    /// always true (the entries are gone either way). Nothing is removed when the owner record is no
    /// longer this holder's (another holder took the directory meanwhile); a directory that holds files
    /// LogPersist did not write is kept, with <see cref="KeptBecause"/> saying why.
    /// </summary>
    private bool RemoveDirectory()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        Metrics.Dispose();
        var ours = _lease.Abandon();
        lock (_pathLock)
        {
            if (!ours || IsFenced)
            {
                LogPersistEventSource.Log.OperationFailed(_options.Directory, "removing the drained directory", "its owner record is no longer this holder's; the directory is left to its new holder");
                _lock.Dispose();
                return true;
            }

            KeptBecause = DrainedDirectory.Remove(_fileSystem, _options.Directory, _lease.Record.Token, _lock, _lease.MarkClosed);
            return true;
        }
    }

    /// <summary>Why a drained directory was kept rather than removed (it holds files LogPersist did not write); null otherwise.</summary>
    public string? KeptBecause { get; private set; }


    /// <summary>Removes what a crash left while a file was being replaced: temporary files of WAL files only, never anything else.</summary>
    private static void RemoveTemporaries(IFileSystem fileSystem, string directory)
    {
        foreach (var path in fileSystem.Directory.EnumerateFiles(directory, "*" + TemporaryFile.Suffix))
        {
            if (TemporaryFile.IsTemporary(fileSystem.Path.GetFileName(path)))
            {
                fileSystem.File.Delete(path);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _writer.Dispose();
        Metrics.Dispose();
        _lease.Dispose();
        _lock.Dispose();
    }
}
