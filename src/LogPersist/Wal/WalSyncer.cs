using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>
/// Gets written records onto the device: owns the list of mapped segments, the group commit of
/// <see cref="WalDurability.Always"/>, the timer of <see cref="WalDurability.Interval"/> and the
/// <see cref="Sync"/> barrier. A sync registers on each segment like an appender, so a segment is
/// never unmapped while it is being synced, and rolls never wait for a sync to finish.
/// </summary>
internal sealed class WalSyncer : IDisposable
{
    private readonly object _lock = new();
    private readonly object _flushLock = new();
    private readonly List<WalSegment> _mapped = [];
    private readonly List<string> _unsyncedClosed = [];
    private readonly WalDurability _durability;
    private readonly IDeviceSync _device;
    private readonly string _directory;
    private readonly ITimer? _timer;
    private long _started;
    private long _completed;
    private int _pruneAt = 16;

    public WalSyncer(WalOptions options)
    {
        _durability = options.Durability;
        _device = options.DeviceSync;
        _directory = options.Directory;
        if (_durability == WalDurability.Interval)
        {
            _timer = options.TimeProvider.CreateTimer(_ => SyncInBackground(), null, options.FlushInterval, options.FlushInterval);
        }
    }

    public void Track(WalSegment segment)
    {
        lock (_lock)
        {
            _mapped.Add(segment);
        }
    }

    /// <summary>
    /// Returns once every record published before the call is on the device. Callers arriving while a
    /// sync runs share the next one, so N concurrent callers cost about two syncs, not N.
    /// </summary>
    public void Sync()
    {
        // A sync that starts after this read began after our records were published.
        var needed = Volatile.Read(ref _started) + 1;
        lock (_flushLock)
        {
            if (_completed >= needed)
            {
                return;
            }

            var generation = ++_started;
            WalSegment[] segments;
            string[] closed;
            lock (_lock)
            {
                // Registered like appenders, these segments stay mapped until synced, while rolls
                // (which only take the list lock) go on.
                segments = [.. _mapped];
                foreach (var segment in segments)
                {
                    segment.Reserve(0);
                }

                closed = [.. _unsyncedClosed];
                _unsyncedClosed.Clear();
            }

            try
            {
                foreach (var segment in segments)
                {
                    _device.Sync(segment.Map);
                }

                foreach (var path in closed)
                {
                    _device.Sync(path);
                }
            }
            finally
            {
                foreach (var segment in segments)
                {
                    segment.Release();
                }
            }

            Volatile.Write(ref _completed, generation);
        }
    }

    /// <summary>
    /// Unmaps sealed segments that no appender is still copying into. In the syncing modes their
    /// pages are synced first; otherwise they are remembered so the next <see cref="Sync"/> covers them.
    /// </summary>
    public void ReleaseQuiescent()
    {
        lock (_lock)
        {
            for (var i = _mapped.Count - 1; i >= 0; i--)
            {
                var segment = _mapped[i];
                if (!segment.IsSealed || segment.Appenders != 0)
                {
                    continue;
                }

                try
                {
                    if (_durability == WalDurability.PageCache)
                    {
                        RememberUnsynced(segment.Map.Path);
                    }
                    else
                    {
                        _device.Sync(segment.Map);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    LogPersistEventSource.Log.OperationFailed(_directory, "sync", e);
                }

                segment.Map.Dispose();
                _mapped.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Keeps the path for the next <see cref="Sync"/>. Paths of files already shipped and deleted are
    /// dropped now and then, so the list stays as short as the WAL itself however rarely Sync is called.
    /// </summary>
    private void RememberUnsynced(string path)
    {
        _unsyncedClosed.Add(path);
        if (_unsyncedClosed.Count >= _pruneAt)
        {
            _unsyncedClosed.RemoveAll(p => !File.Exists(p));
            _pruneAt = Math.Max(16, _unsyncedClosed.Count * 2);
        }
    }

    private void SyncInBackground()
    {
        try
        {
            Sync();
        }
        catch (Exception e)
        {
            // A timer callback must never throw: the fault is reported and the next tick tries again.
            LogPersistEventSource.Log.OperationFailed(_directory, "interval sync", e);
        }
    }

    public void Dispose() => _timer?.Dispose();
}
