using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist.Diagnostics;
using LogPersist.Shipping;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Adoption;

/// <summary>
/// Finds the WAL directories of gone instances of the same service on a shared volume and ships them.
/// A sibling is gone when a liveness source (the Kubernetes API server) says its pod is gone, or, where
/// there is none or it cannot tell, when its owner record has not changed for longer than the lease, as
/// measured on this process's monotonic clock (nodes' wall clocks differ); and no process of this node
/// holds its lock. Claiming is an exclusive create of <c>.adoption/{instance}.{epoch}.claim</c>, which holds the
/// adopter's name (adopters looking at the same moment contend for the same file), then one rename of
/// the directory to <c>.adoption/{instance}.{epoch}</c>, which only one adopter can do. The directory is
/// shipped under its own saved labels through the SDK's shipper, read for one more lease, and removed
/// once everything in it is acknowledged. An adoption whose adopter dies stops renewing its record and
/// is taken over, under the next epoch, by the next adopter.
/// </summary>
internal sealed class OrphanAdopter : IAsyncDisposable
{
    private readonly AdoptionOptions _options;
    private readonly IFileSystem _fileSystem;
    private readonly TimeProvider _time;
    private readonly string _serviceDirectory;
    private readonly string _area;
    private readonly string _ownName;
    private readonly Dictionary<string, (string Text, long Since)> _observed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Text, long Since)> _claims = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _resting = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly GoneOwnerRule _gone;
    private Task _loop = Task.CompletedTask;

    public OrphanAdopter(AdoptionOptions options)
    {
        _options = options;
        _fileSystem = options.FileSystem;
        _time = options.TimeProvider;
        var own = _fileSystem.Path.TrimEndingDirectorySeparator(_fileSystem.Path.GetFullPath(options.OwnDirectory));
        _ownName = _fileSystem.Path.GetFileName(own);
        _serviceDirectory = AdoptionArea.ServiceDirectory(_fileSystem, own);
        _area = _fileSystem.Path.Combine(_serviceDirectory, AdoptionArea.DirectoryName);
        _gone = new GoneOwnerRule(options.Liveness, options.Lease, _serviceDirectory);
    }

    /// <summary>
    /// Why the liveness source cannot answer now (the API cannot be reached, or refuses), while the
    /// adopter falls back to the lease rule; null while it answers, or when there is none.
    /// </summary>
    public string? LivenessFallback => _gone.Fallback;

    /// <summary>What <see cref="LivenessFallback"/> is about: the liveness source's name, or null without one.</summary>
    public string? LivenessSource => _gone.SourceName;

    /// <summary>Directories shipped and removed so far.</summary>
    public int Adopted => Volatile.Read(ref _adopted);

    private int _adopted;

    /// <summary>Entries shipped from adopted directories so far.</summary>
    public long ShippedEntries => Interlocked.Read(ref _shippedEntries);

    private long _shippedEntries;

    public void Start()
    {
        _gone.Start();
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        try
        {
            // A random start: fifty replicas of a rolling update do not all scan the volume at once.
            await Task.Delay(Jitter(0, 1), _time, stop).ConfigureAwait(false);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await ScanOnceAsync(stop).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // The scan runs unobserved; a failure is reported and the next scan tries again.
                catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    LogPersistEventSource.Log.OperationFailed(_serviceDirectory, "looking for orphaned WALs", e);
                }

                await Task.Delay(Jitter(0.8, 1.2), _time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private TimeSpan Jitter(double from, double to) =>
        _options.ScanInterval * (from + (Random.Shared.NextDouble() * (to - from)));

    /// <summary>
    /// One look at the siblings: updates what was seen and starts adoptions of those whose owner is gone —
    /// as the liveness source says, or, where it cannot tell, as a record unchanged for a lease shows.
    /// Internal for tests.
    /// </summary>
    internal async ValueTask ScanOnceAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (directory, task) in _running)
        {
            if (task.IsCompleted)
            {
                _running.TryRemove(directory, out _);
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var directory in Candidates())
        {
            seen.Add(directory);
            string key;
            long now;
            try
            {
                // The time of each look is taken with it: a slow scan must not shorten anyone's lease.
                now = _time.GetTimestamp();
                key = Observe(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var elapsed = TimeSpan.Zero;
            if (!_observed.TryGetValue(directory, out var observed) || observed.Text != key)
            {
                _observed[directory] = (key, now);
                if (!_gone.HasSource)
                {
                    continue;
                }
            }
            else
            {
                elapsed = _time.GetElapsedTime(observed.Since);
            }

            // Without a liveness source, a record seen changing within the lease is not even read.
            if (_running.ContainsKey(directory) || _running.Values.Distinct().Count() >= _options.MaxConcurrent
                || (!_gone.HasSource && elapsed <= _options.Lease.Duration) || _stop.IsCancellationRequested)
            {
                continue;
            }

            string text;
            OwnerRecord? record = null;
            try
            {
                // A record cut to nothing (a power loss before it was written back) is no record; one
                // that is not a valid record at all (a link, a huge file, garbage) is left alone.
                text = OwnerRecord.ReadText(_fileSystem, directory) ?? "";
                record = text.Length == 0 ? null : OwnerRecord.Parse(text);
            }
            catch (UntrustedFileException e)
            {
                LogPersistEventSource.Log.AdoptionDeferred(directory, e.Message + " It is not adopted while its owner record is not one.");
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (IsResting(directory) || !await _gone.IsGoneAsync(record, elapsed, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            // Claiming and moving are a few file operations, done here in turn; shipping runs apart.
            if (!TryClaim(directory, key, text, record?.Epoch ?? 0, out var adopted, out var epoch))
            {
                continue;
            }

            // Owned by the adopter, not by this scan: it ends with the adopter's stop.
            var shipping = Task.Run(async () =>
            {
                try
                {
                    await ShipAsync(directory, adopted, epoch, _stop.Token).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // One failed adoption is reported and resumed later; it must not end the others.
                catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    LogPersistEventSource.Log.AdoptionDeferred(adopted, e.GetType().Name + ": " + e.Message);
                }
            }, CancellationToken.None);

            // Under both names: neither the old path nor the directory in the area is taken up again meanwhile.
            _running[directory] = shipping;
            _running[adopted] = shipping;
        }

        foreach (var gone in _observed.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _observed.Remove(gone);
        }

        foreach (var claim in _claims.Keys.Where(c => !_fileSystem.File.Exists(c)).ToList())
        {
            _claims.Remove(claim);
        }
    }

    private string Observe(string directory) => OwnerRecord.Stamp(_fileSystem, directory);

    /// <summary>Sibling instance directories that hold a WAL, and adopted directories of the area.</summary>
    private IEnumerable<string> Candidates()
    {
        foreach (var directory in _fileSystem.Directory.EnumerateDirectories(_serviceDirectory))
        {
            var name = _fileSystem.Path.GetFileName(directory);
            if (name != _ownName && !name.StartsWith('.') && LooksLikeWal(directory))
            {
                yield return directory;
            }
        }

        if (_fileSystem.Directory.Exists(_area) && !WalFiles.IsLink(_fileSystem, _area))
        {
            foreach (var directory in _fileSystem.Directory.EnumerateDirectories(_area))
            {
                if (AdoptionArea.TryParse(_fileSystem.Path.GetFileName(directory), out _, out _, out var isClaim) && !isClaim && LooksLikeWal(directory))
                {
                    yield return directory;
                }
            }
        }
    }

    /// <summary>A WAL directory by positive evidence (<see cref="WalFiles.Recognise"/>), never a link to one.</summary>
    private bool LooksLikeWal(string directory)
    {
        try
        {
            return WalFiles.Recognise(_fileSystem, directory).IsWal;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private async Task ShipAsync(string directory, string adopted, long epoch, CancellationToken stop)
    {
        LogPersistEventSource.Log.OrphanClaimed(directory, adopted, epoch);
        var started = _time.GetTimestamp();
        var name = _fileSystem.Path.GetFileName(directory);
        var instance = AdoptionArea.TryParse(name, out var parsed, out _, out var isClaim) && !isClaim && IsInArea(directory) ? parsed : name;
        var shipping = _options.Shipping();
        var stream = StreamDescription.TryLoad(_fileSystem, adopted, out var description, out _)
            ? description
            : StreamDescription.FromPath(_fileSystem.Path.Combine(_serviceDirectory, instance));
        stream.ApplyTo(shipping);
        // Sent only where the writer sent structured metadata too: with it off (chosen, perhaps because
        // a gateway refuses it), adopted entries go exactly as the writer would have sent them.
        shipping.StaticMetadata = [new("adopted_by", _options.AdoptedBy)];

        // One request at a time: the application's own shipper keeps the larger share of the network.
        shipping.MaxInFlight = 1;
        var lease = new LeaseOptions
        {
            Duration = _options.Lease.Duration,
            Heartbeat = _options.Lease.Heartbeat,
            Environment = _options.Lease.Environment,
            AdoptedEpoch = epoch,
            AdoptedBy = _options.AdoptedBy,
        };

        // A holder that was only cut off keeps the lock until its heartbeat finds the directory moved.
        var heldUntil = _time.GetTimestamp();
        DrainResult result;
        while (true)
        {
            var before = Interlocked.Read(ref _shippedEntries);
            var progress = new Progress(done => Interlocked.Exchange(ref _shippedEntries, before + done));
            result = await WalDrain.RunAsync(_fileSystem, adopted, shipping, _options.Handler, _time, progress, ProgressInterval, stop, "adopted by " + _options.AdoptedBy, lease, settle: _options.Lease.Duration, removeDirectory: true).ConfigureAwait(false);
            Interlocked.Exchange(ref _shippedEntries, before + result.Entries);
            if (result.Status != DrainStatus.Held || _time.GetElapsedTime(heldUntil) > _options.Lease.Duration)
            {
                break;
            }

            await Task.Delay(_options.Lease.Heartbeat, _time, stop).ConfigureAwait(false);
        }

        if (result.Status is not (DrainStatus.Drained or DrainStatus.Empty))
        {
            // Left in the area: its record stops changing, and the next adopter (or this one) resumes it.
            // One that failed (a segment of a later format, one that cannot be read) is not claimed again
            // by this instance for a while: claiming and moving it every lease would change nothing.
            if (result.Status == DrainStatus.Failed)
            {
                _resting[instance] = _time.GetTimestamp();
            }

            LogPersistEventSource.Log.AdoptionDeferred(adopted, result.Status + (result.Message is null ? "" : ": " + result.Message));
            return;
        }

        Interlocked.Increment(ref _adopted);
        LogPersistEventSource.Log.OrphanShipped(directory, result.Entries, _time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Whether this instance failed to ship the directory's instance within the last ten leases.</summary>
    private bool IsResting(string directory)
    {
        var name = _fileSystem.Path.GetFileName(directory);
        var instance = IsInArea(directory) && AdoptionArea.TryParse(name, out var parsed, out _, out _) ? parsed : name;
        return _resting.TryGetValue(instance, out var since) && _time.GetElapsedTime(since) < _options.Lease.Duration * 10;
    }

    private bool IsInArea(string directory) =>
        string.Equals(_fileSystem.Path.GetDirectoryName(directory), _area, StringComparison.Ordinal);

    /// <summary>
    /// Re-checks the orphan, wins or loses the claim, and moves the directory into the area. False when
    /// another adopter won (its name is reported), the owner came back, or the directory went away.
    /// </summary>
    private bool TryClaim(string directory, string key, string observed, long recordEpoch, out string adopted, out long epoch)
    {
        adopted = "";
        epoch = 0;
        string claim;
        if (!StillOrphaned(directory, key, observed))
        {
            return false;
        }

        var name = _fileSystem.Path.GetFileName(directory);
        var instance = name;
        long movedEpoch = 0;
        if (IsInArea(directory) && AdoptionArea.TryParse(name, out var parsed, out var parsedEpoch, out _))
        {
            instance = parsed;
            movedEpoch = parsedEpoch;
        }

        // Above the directory's epoch and every earlier claim of this name, so that no claim is reused.
        epoch = Math.Max(Math.Max(recordEpoch, movedEpoch), AdoptionArea.HighestEpoch(_fileSystem, _area, instance)) + 1;
        try
        {
            DirectoryLevels.Prepare(_fileSystem, _serviceDirectory, _area, allowGroupWritable: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.AdoptionDeferred(directory, "the adoption area cannot be used: " + e.Message);
            return false;
        }

        while (true)
        {
            claim = _fileSystem.Path.Combine(_area, AdoptionArea.ClaimName(instance, epoch));
            if (new AdoptionClaim(_options.AdoptedBy, directory, epoch, _time.GetUtcNow()).TryCreate(_fileSystem, claim, out var writeFailure))
            {
                break;
            }

            if (writeFailure is not null)
            {
                LogPersistEventSource.Log.AdoptionDeferred(directory, "writing the claim failed: " + writeFailure.Message);
                return false;
            }

            string other;
            try
            {
                other = AdoptionClaim.Read(_fileSystem, claim);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                other = "(unreadable claim)";
            }

            var winner = AdoptionClaim.ClaimedBy(other);
            var movedThere = _fileSystem.Path.Combine(_area, AdoptionArea.AdoptedName(instance, epoch));
            var now = _time.GetTimestamp();
            if (!_fileSystem.Directory.Exists(movedThere)
                && _claims.TryGetValue(claim, out var seen) && seen.Text == other
                && _time.GetElapsedTime(seen.Since) > _options.Lease.Duration)
            {
                // Claimed a lease ago and never moved: that adopter died between its claim and its move.
                epoch++;
                continue;
            }

            if (!_claims.TryGetValue(claim, out var known) || known.Text != other)
            {
                _claims[claim] = (other, now);
            }

            LogPersistEventSource.Log.OrphanTakenByOther(directory, $"{winner} claimed epoch {epoch}");
            return false;
        }

        // Both sides write first and look second: a returning owner rewrote its record before it looked
        // for claims, so either it sees this claim and waits, or this re-read sees its record.
        if (!StillOrphaned(directory, key, observed))
        {
            AdoptionClaim.Remove(_fileSystem, claim);
            return false;
        }

        adopted = _fileSystem.Path.Combine(_area, AdoptionArea.AdoptedName(instance, epoch));
        try
        {
            _fileSystem.Directory.Move(directory, adopted);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AdoptionClaim.Remove(_fileSystem, claim);
            if (!_fileSystem.Directory.Exists(directory))
            {
                // Another adopter's claim (under another epoch) moved it first: say whose.
                LogPersistEventSource.Log.OrphanTakenByOther(directory, Winner(instance));
            }
            else
            {
                LogPersistEventSource.Log.AdoptionDeferred(directory, "moving it into the adoption area failed: " + e.Message);
            }

            return false;
        }

        // The claims this move takes over (an earlier adoption of the name, moved on from) are done with.
        AdoptionArea.RemoveClaimsBelow(_fileSystem, _area, instance, epoch);
        _observed.Remove(directory);
        return true;
    }

    /// <summary>Who holds the newest moved directory of <paramref name="instance"/>, as its claim says.</summary>
    private string Winner(string instance)
    {
        try
        {
            var claims = _fileSystem.Directory.EnumerateFiles(_area, instance + ".*" + AdoptionArea.ClaimSuffix)
                .Select(p => (Path: p, Parsed: AdoptionArea.TryParse(_fileSystem.Path.GetFileName(p), out var name, out var epoch, out _) && name == instance ? epoch : -1))
                .Where(c => c.Parsed >= 0 && _fileSystem.Directory.Exists(_fileSystem.Path.Combine(_area, AdoptionArea.AdoptedName(instance, c.Parsed))))
                .OrderByDescending(c => c.Parsed)
                .ToList();
            if (claims.Count == 0)
            {
                return "another adopter (its claim is already gone)";
            }

            var text = AdoptionClaim.Read(_fileSystem, claims[0].Path);
            return $"{AdoptionClaim.ClaimedBy(text)} claimed epoch {claims[0].Parsed}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another adopter";
        }
    }

    private bool StillOrphaned(string directory, string key, string observed)
    {
        try
        {
            if (Observe(directory) != key || (OwnerRecord.ReadText(_fileSystem, directory) ?? "") != observed)
            {
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // A lock held on this node (or granted by a network file system's lock manager) is a live holder.
        return WalHolder.Probe(directory).State != HolderState.Live;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Reports entries shipped so far (accepted or refused for good) as a drain progresses.</summary>
    private sealed class Progress(Action<long> report) : IProgress<DrainProgress>
    {
        public void Report(DrainProgress value) => report(value.Done);
    }

    /// <summary>
    /// Stops scanning and interrupts adoptions in progress, waiting for them at most <paramref name="timeout"/>;
    /// what they did not ship stays for the next adopter. True when everything ended in time; an
    /// adoption still ending after that is already cancelled and finishes on its own. Never throws.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        var started = _time.GetTimestamp();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            // The loop first: a scan in progress may still start an adoption, which is then awaited too.
            await _loop.WaitAsync(timeout, _time).ConfigureAwait(false);
            var left = timeout - _time.GetElapsedTime(started);
            await Task.WhenAll(_running.Values.Distinct()).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogPersistEventSource.Log.AdoptionDeferred(_area, string.Create(CultureInfo.InvariantCulture, $"adoptions in progress did not end within {timeout.TotalSeconds:0.#} s of the stop; they end on their own"));
            return false;
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await _gone.DisposeAsync().ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Stops as <see cref="StopAsync"/> does, with <see cref="AdoptionOptions.StopTimeout"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(_options.StopTimeout).ConfigureAwait(false);
}
