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
    private readonly IDeviceSync _device;
    private readonly string _directory;
    private readonly TimeProvider _time;
    private volatile WalDurability _durability;
    private ITimer? _timer;
    private TimeSpan _interval;
    private bool _disposed;
    private long _started;
    private long _completed;
    private int _pruneAt = 16;

    public WalSyncer(WalOptions options)
    {
        _device = options.DeviceSync;
        _directory = options.Directory;
        _time = options.TimeProvider;
        Change(options.Durability, options.FlushInterval);
    }

    /// <summary>
    /// Moves to another durability mode or interval while appends go on. Records written before the
    /// change get the new mode's promise at its first sync: the segments still mapped are synced then,
    /// and so are those closed under <see cref="WalDurability.PageCache"/>.
    /// </summary>
    public void Change(WalDurability durability, TimeSpan interval)
    {
        lock (_lock)
        {
            if (_disposed || (durability == _durability && interval == _interval && (_timer is not null) == (durability == WalDurability.Interval)))
            {
                return;
            }

            _durability = durability;
            _interval = interval;
            _timer?.Dispose();
            _timer = durability == WalDurability.Interval ? _time.CreateTimer(_ => SyncInBackground(), null, interval, interval) : null;
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

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }
}
