using LogPersist.Adoption;
using LogPersist.Diagnostics;
using LogPersist.Shipping;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Pipeline;

/// <summary>
/// One instance's WAL and, when a Loki URL is set, the shipper that empties it: what the logging
/// provider and the Serilog sink write into. Opening it is the start-up check (options, directory,
/// lock); after that nothing it does throws into the application.
/// </summary>
internal sealed class LogPipeline : IAsyncDisposable, IDisposable
{
    private readonly object _reconfigureLock = new();
    private readonly HashSet<string> _restartReported = new(StringComparer.Ordinal);
    private TimeSpan _flushTimeout;
    private PipelineSettings _settings;
    private LogPersistOptions _options;
    private int _minimumLevel;
    private string? _restartNeeded;
    private string _destination;
    private readonly object _laneLock = new();
    private readonly EntryCutMetrics _cuts;
    private readonly BackgroundWork _background;
    private Lane _lane;
    private OrphanAdopter? _adopter;
    private int _stopped;

    private LogPipeline(Lane lane, PipelineSettings settings, LogPersistOptions options, string destination)
    {
        _lane = lane;
        _settings = settings;
        // A copy: the caller may bind new values into its object, which must not change what a reload is compared with.
        _options = SettingsChange.Copy(options);
        _minimumLevel = (int)options.MinimumLevel;
        Time = options.TimeProvider;
        _flushTimeout = options.FlushTimeout;
        SegmentBytes = options.SegmentBytes;
        _destination = destination;
        EntryLimits = settings.EntryLimits;
        _cuts = new EntryCutMetrics(lane.Wal.Directory);
        _background = new BackgroundWork(options.TimeProvider);
    }

    /// <summary>The WAL being written now: a new one after this instance was fenced out of its directory.</summary>
    public WriteAheadLog Wal => Volatile.Read(ref _lane).Wal;

    public Shipper? Shipper => Volatile.Read(ref _lane).Shipper;

    /// <summary>Work started after a fence (closing the fenced WAL, opening a new one) and not yet finished. Internal for tests.</summary>
    internal int MovingOn => _background.Running;

    /// <summary>The adopter of gone siblings' WALs, when <see cref="LogPersistOptions.AdoptOrphans"/> is on and there is a Loki to ship to.</summary>
    internal OrphanAdopter? Adopter => _adopter;

    /// <summary>Entries below this level are not written; changes with <see cref="Reconfigure"/>.</summary>
    public EntryLevel MinimumLevel => (EntryLevel)Volatile.Read(ref _minimumLevel);

    /// <summary>
    /// The settings that changed in configuration but apply only after a restart ("restart to apply
    /// Directory"), for the health check; null when the running settings are the configured ones.
    /// </summary>
    public string? RestartNeeded => Volatile.Read(ref _restartNeeded);

    public TimeProvider Time { get; }

    public string Directory => Wal.Directory;

    public long MaxDiskBytes => Volatile.Read(ref _options).MaxDiskBytes;

    public long SegmentBytes { get; }

    public WalFullMode FullMode => Volatile.Read(ref _options).FullMode;

    /// <summary>What <see cref="Destination"/> says when no Loki URL is set.</summary>
    internal const string NoDestination = "none (WAL only)";

    /// <summary>The push URL (without credentials), or a note that entries stay in the WAL.</summary>
    public string Destination => Volatile.Read(ref _destination);

    /// <summary>What one entry may hold (<see cref="LogPersistOptions.MaxEntryBytes"/>): the limits the integrations encode within.</summary>
    public Entries.EntryLimits EntryLimits { get; }

    /// <summary>What encoding cut to keep entries within <see cref="EntryLimits"/>, by reason.</summary>
    public EntryCutMetrics Cuts => _cuts;

    /// <summary>
    /// Validates the options, opens (creating if needed) and locks the instance's WAL directory and
    /// starts shipping. Throws <see cref="ArgumentException"/> for invalid options,
    /// <see cref="WalLockedException"/> when another process holds the directory, and
    /// <see cref="InvalidOperationException"/> naming the path when it cannot be created or written.
    /// </summary>
    public static LogPipeline Open(LogPersistOptions options)
    {
        var settings = PipelineSettings.Resolve(options);
        var lane = OpenLane(settings, options);
        var destination = settings.Shipper?.Loki.PushUri.ToString() ?? NoDestination;
        LogPersistEventSource.Log.PipelineStarted(lane.Wal.Directory, settings.RootSource, destination);
        if (settings.DroppedLabels.Count > 0)
        {
            LogPersistEventSource.Log.LabelsOverLimit(lane.Wal.Directory, options.MaxLabelNames, string.Join(", ", settings.DroppedLabels));
        }

        ReportVolume(lane.Wal.Directory, options);
        var pipeline = new LogPipeline(lane, settings, options, destination);
        pipeline.Watch(lane);
        if (options.AdoptOrphans && settings.FreshShipping is { } shipping)
        {
            pipeline._adopter = new OrphanAdopter(new AdoptionOptions
            {
                OwnDirectory = lane.Wal.Directory,
                Shipping = shipping,
                AdoptedBy = settings.Instance,
                Handler = options.HttpHandler,
                Lease = settings.Wal.Lease,
                ScanInterval = options.AdoptionScanInterval,
                Liveness = options.Liveness?.Invoke(),
                FileSystem = options.FileSystem,
                TimeProvider = options.TimeProvider,
            });
            pipeline._adopter.Start();
        }
        else if (options.AdoptOrphans)
        {
            LogPersistEventSource.Log.AdoptionDeferred(lane.Wal.Directory, "AdoptOrphans is on, but no Loki URL is set: nothing is adopted");
        }

        PipelineRegistry.Add(pipeline);
        return pipeline;
    }

    private static Lane OpenLane(PipelineSettings settings, LogPersistOptions options)
    {
        WriteAheadLog wal;
        try
        {
            wal = WriteAheadLog.Open(settings.Wal);
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not WalLockedException)
        {
            throw new InvalidOperationException($"LogPersist cannot write its WAL directory '{settings.Wal.Directory}': {e.Message}", e);
        }

        var stream = SaveStreamDescription(wal, settings.Stream, options.FileSystem);
        wal.BeforeForgettingShipped = options.BeforeForgettingShipped;
        Shipper? shipper = null;
        try
        {
            if (settings.Shipper is { } shipping)
            {
                shipper = StartShipper(wal, shipping, stream, options);
            }
        }
        catch
        {
            wal.Dispose();
            throw;
        }

        return new Lane(wal, shipper);
    }

    /// <summary>A shipper for <paramref name="wal"/> that sends each entry under the description it was written under, and saves the next one.</summary>
    private static Shipper StartShipper(WriteAheadLog wal, ShipperOptions shipping, StreamDescription stream, LogPersistOptions options)
    {
        var own = shipping.Clone();
        stream.ApplyTo(own);
        var fileSystem = options.FileSystem;
        var shipper = new Shipper(wal, own, options.HttpHandler)
        {
            StreamChanged = changed => StreamDescription.SaveKeepingDecision(fileSystem, wal.Directory, changed),
        };
        shipper.Start();
        return shipper;
    }

    private static void ReportVolume(string directory, LogPersistOptions options)
    {
        var volume = options.VolumeDetector(directory);
        LogPersistEventSource.Log.VolumeDetected(directory, volume.FileSystemType, volume.Kind.ToString().ToLowerInvariant(), options.Durability.ToString(), volume.DurabilityNote(options.Durability, options.FlushInterval));
        if (volume.Kind != VolumeKind.Local && options.Durability == WalDurability.PageCache)
        {
            LogPersistEventSource.Log.UnsyncedNetworkVolume(directory, volume.FileSystemType);
        }
    }

    private void Watch(Lane lane)
    {
        lane.Wal.Fenced += _ => MoveOn(lane);
        if (lane.Wal.IsFenced)
        {
            MoveOn(lane);
        }
    }

    private void MoveOn(Lane fenced)
    {
        // Refused once the pipeline stops: the stop closes the lane it finds.
        _background.Start(stop => MoveOnAsync(fenced, stop));
    }

    /// <summary>
    /// After another instance took this one's directory. Its shipper is stopped first (its
    /// acknowledgements would go nowhere). When the directory was moved away (adopted), logging goes on
    /// in a new directory at the same path, and the old WAL is closed, which lets the adopter ship
    /// what was appended to it meanwhile. While the path still holds a directory (another process
    /// writes there, or a network file system still shows the moved one), the old WAL is closed at once
    /// — later entries are dropped and counted (<c>fenced</c>) rather than mixed into another writer's
    /// WAL — and the path is looked at again with a growing delay until a new directory can be opened.
    /// </summary>
    private async Task MoveOnAsync(Lane fenced, CancellationToken stop)
    {
        var closed = false;
        try
        {
            if (fenced.Shipper is { } shipper)
            {
                // No flush: what it would send now is the adopter's to send. Acknowledgements of sends
                // still in flight are refused by the fenced WAL.
                await shipper.StopAsync(TimeSpan.Zero).ConfigureAwait(false);
                await shipper.DisposeAsync().ConfigureAwait(false);
            }

            var delay = _settings.Wal.Lease.Heartbeat;
            while (true)
            {
                lock (_laneLock)
                {
                    if (Volatile.Read(ref _stopped) != 0 || !ReferenceEquals(_lane, fenced))
                    {
                        break;
                    }

                    if (!_options.FileSystem.Directory.Exists(fenced.Wal.Directory) || closed && WalHolder.IsReleased(_options.FileSystem, fenced.Wal.Directory))
                    {
                        try
                        {
                            var fresh = OpenLane(_settings, _options);
                            Volatile.Write(ref _lane, fresh);
                            Watch(fresh);
                            break;
                        }
#pragma warning disable CA1031 // Tried again below; logging is dropped and counted meanwhile.
                        catch (Exception e)
#pragma warning restore CA1031
                        {
                            LogPersistEventSource.Log.OperationFailed(fenced.Wal.Directory, "opening a new WAL after the directory was taken", e);
                        }
                    }
                }

                if (!closed)
                {
                    // Entries are dropped from here until a directory can be opened again: say so to the health check.
                    fenced.Wal.Metrics.WriteFailed(WalDropReason.Fenced);
                    fenced.Wal.Dispose();
                    closed = true;
                }

                try
                {
                    await Task.Delay(delay, Time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // The pipeline stops: it closes the lane it finds, and this one is closed already.
                    break;
                }

                delay = delay * 2 > MaxReopenDelay ? MaxReopenDelay : delay * 2;
            }

            if (!closed)
            {
                fenced.Wal.Dispose();
            }
        }
#pragma warning disable CA1031 // Runs unobserved on the thread pool.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogPersistEventSource.Log.OperationFailed(fenced.Wal.Directory, "closing a fenced WAL", e);
        }
    }

    private static readonly TimeSpan MaxReopenDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Saves how this run's entries become streams and lines, from the WAL's append position on, after the
    /// descriptions of entries an earlier run left unacknowledged (those are resent as they were first
    /// sent). Returns what was saved, or what would have been when saving failed.
    /// </summary>
    private static StreamDescription SaveStreamDescription(WriteAheadLog wal, StreamDescription stream, System.IO.Abstractions.IFileSystem fileSystem)
    {
        try
        {
            return StreamDescription.SaveAfter(fileSystem, wal.Directory, stream, wal.AppendPosition, wal.Checkpoint);
        }
#pragma warning disable CA1031 // The file is optional: no failure to write it may stop the application's logging.
        catch (Exception e)
#pragma warning restore CA1031
        {
            // Only a later drain by another process needs it; it then falls back to the labels the path implies.
            LogPersistEventSource.Log.OperationFailed(wal.Directory, "saving " + StreamDescription.FileName, e);
            return stream with { From = wal.AppendPosition };
        }
    }

    /// <summary>
    /// Applies options changed while running (a configuration reload), without losing or sending twice
    /// an entry. Settings that cannot change while the WAL is open (<see cref="SettingsChange.RestartOnly"/>) keep their
    /// running value; each is reported once (event 34) and the health check says "restart to apply".
    /// Invalid options change nothing: every problem is reported in one message (event 33) and false
    /// is returned. Never throws.
    /// </summary>
    public bool Reconfigure(LogPersistOptions next)
    {
        if (next is null || Volatile.Read(ref _stopped) != 0)
        {
            return false;
        }

        lock (_reconfigureLock)
        {
            try
            {
                var candidate = SettingsChange.Copy(next);
                var fixedChanged = SettingsChange.RestartOnly.Where(s => !Equals(s.Get(_options), s.Get(candidate))).Select(s => (s.Name, Wanted: s.Get(candidate))).ToList();
                foreach (var setting in SettingsChange.RestartOnly)
                {
                    // What cannot change stays as it runs, so the rest is checked and applied against it.
                    setting.Set(candidate, setting.Written(_options));
                }

                PipelineSettings settings;
                try
                {
                    settings = PipelineSettings.Resolve(candidate);
                }
                catch (ArgumentException e)
                {
                    LogPersistEventSource.Log.SettingsRejected(Directory, e.Message);
                    return false;
                }

                var applied = Apply(candidate, settings);
                _options = candidate;
                _settings = settings;
                ReportRestartNeeded(fixedChanged);
                if (applied.Count > 0)
                {
                    LogPersistEventSource.Log.SettingsApplied(Directory, string.Join(", ", applied));
                }

                return true;
            }
#pragma warning disable CA1031 // A reload runs on the configuration's thread: nothing may escape into it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogPersistEventSource.Log.SettingsRejected(Directory, e.GetType().Name + ": " + e.Message);
                return false;
            }
        }
    }

    /// <summary>Applies what differs between the running options and <paramref name="next"/>; returns the names of what changed.</summary>
    private List<string> Apply(LogPersistOptions next, PipelineSettings settings)
    {
        var changed = SettingsChange.Live.Where(s => !s.Same(_options, next)).Select(s => s.Name).ToList();
        if (changed.Count == 0)
        {
            return changed;
        }

        lock (_laneLock)
        {
            var lane = _lane;
            if (lane.Wal.IsFenced)
            {
                // Another instance took the directory: the lane opened next is opened with these settings.
            }
            else if (settings.Shipper is { } shipping && changed.Any(SettingsChange.ShipperSettings.Contains))
            {
                if (lane.Shipper is { } running)
                {
                    // Throws for an unreadable certificate before anything changed; the caller reports it.
                    running.Reconfigure(shipping, lane.Wal.AppendPosition);
                }
                else
                {
                    var stream = SaveStreamDescription(lane.Wal, settings.Stream, next.FileSystem);
                    Volatile.Write(ref _lane, lane with { Shipper = StartShipper(lane.Wal, shipping, stream, next) });
                }

                Volatile.Write(ref _destination, shipping.Loki.PushUri.ToString());
            }
            else if (settings.Shipper is null && changed.Any(SettingsChange.ShipperSettings.Contains))
            {
                if (lane.Shipper is { } stopping)
                {
                    // No Loki any more: what is not acknowledged stays in the WAL for whoever ships it later.
                    Volatile.Write(ref _lane, lane with { Shipper = null });
                    // Reading stops before this returns: an entry logged after the change is never sent.
                    var leaving = stopping.LeaveAsync(next.FlushTimeout);
                    _background.Start(async _ =>
                    {
                        await leaving.ConfigureAwait(false);
                        await stopping.DisposeAsync().ConfigureAwait(false);
                    });
                }

                // After the shipper stopped: a failure to save is reported, and must not make the change look unapplied.
                SaveStreamDescription(lane.Wal, settings.Stream, next.FileSystem);
                Volatile.Write(ref _destination, NoDestination);
            }

            if (changed.Any(SettingsChange.WalSettings.Contains) && !lane.Wal.IsFenced)
            {
                lane.Wal.ApplyLive(settings.Wal);
            }
        }

        if (next.MinimumLevel != _options.MinimumLevel)
        {
            Volatile.Write(ref _minimumLevel, (int)next.MinimumLevel);
        }

        _flushTimeout = next.FlushTimeout;
        return changed;
    }

    private void ReportRestartNeeded(List<(string Name, object? Wanted)> pending)
    {
        // Once per setting and value: the same pending change is not reported again at every reload.
        var changed = pending.Select(p => p.Name).ToList();
        var fresh = pending.Where(p => _restartReported.Add(p.Name + "=" + p.Wanted)).Select(p => p.Name).ToList();
        if (fresh.Count > 0)
        {
            LogPersistEventSource.Log.RestartNeeded(Directory, string.Join(", ", fresh));
        }

        Volatile.Write(ref _restartNeeded, changed.Count == 0 ? null : "restart to apply " + string.Join(", ", changed));
        if (changed.Count == 0)
        {
            _restartReported.Clear();
        }
    }

    /// <summary>Appends an encoded entry; false when it was dropped (counted by the WAL). Never throws for I/O faults.</summary>
    public bool Append(ReadOnlySpan<byte> payload) => Wal.Append(payload);

    /// <summary>Finishes the entry <paramref name="encoder"/> holds, counts what it cut, and appends it as <see cref="Append(ReadOnlySpan{byte})"/> does.</summary>
    public bool Append(Entries.EntryEncoder encoder)
    {
        var appended = Wal.Append(encoder);
        if (encoder.HasCuts)
        {
            _cuts.Record(encoder.Cuts);
        }

        return appended;
    }

    /// <summary>
    /// Reports a log call that could not be encoded: counted as dropped (<c>unencodable</c>), reported
    /// to the EventSource, and announced in the stream by a marker entry. Never throws.
    /// </summary>
    public void EntryFailed(string category, Exception error)
    {
        try
        {
            Wal.Metrics.RecordsDropped(WalDropReason.Unencodable, 1);
            LogPersistEventSource.Log.EntryFailed(category, error.GetType().Name + ": " + error.Message);
            Append(new Entries.EntryEncoder(256).Encode(Entries.Markers.Unencodable(Entries.LogEntry.NowNs(Time), category, error)));
        }
        catch (Exception)
        {
            // Reporting a failure must not become one.
        }
    }

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for Loki to acknowledge everything appended before the
    /// call. True when it did, or when there is no Loki to ship to. Never throws.
    /// </summary>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Shipper is null || Volatile.Read(ref _stopped) != 0
            ? Task.FromResult(Shipper is null)
            : Shipper.FlushAsync(timeout, cancellationToken);

    /// <summary>
    /// Ships what it can until the deadline, stops shipping and closes the WAL; what was not
    /// acknowledged stays in the WAL for the next start. Later appends are dropped and counted.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }

        PipelineRegistry.Remove(this);

        // Moving on from a fenced WAL ends at its next wait; the lane it may have opened is closed below.
        var movedOn = _background.StopAsync(timeout);
        Lane lane;
        lock (_laneLock)
        {
            lane = _lane;
        }

        // Adoptions in progress stop at once; what they did not ship stays for the next adopter.
        var adopterStopped = _adopter?.DisposeAsync().AsTask() ?? Task.CompletedTask;
        var flushed = true;
        if (lane.Shipper is not null)
        {
            flushed = await lane.Shipper.StopAsync(timeout).ConfigureAwait(false);
            await lane.Shipper.DisposeAsync().ConfigureAwait(false);
        }

        // Closing syncs the WAL in the Interval and Always modes; PageCache promises survival of the
        // process only, so it adds no unbounded device sync to a stop that has a deadline.
        lane.Wal.Dispose();
        await adopterStopped.ConfigureAwait(false);
        await movedOn.ConfigureAwait(false);
        _background.Dispose();
        _cuts.Dispose();
        return flushed;
    }

    public async ValueTask DisposeAsync() => await StopAsync(_flushTimeout).ConfigureAwait(false);

    public void Dispose() => StopAsync(_flushTimeout).GetAwaiter().GetResult();

    private sealed record Lane(WriteAheadLog Wal, Shipper? Shipper);
}
