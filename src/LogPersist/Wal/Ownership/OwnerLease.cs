using System.IO.Abstractions;
using LogPersist.Diagnostics;

namespace LogPersist.Wal.Ownership;

/// <summary>
/// The holder's side of the owner record: written when the WAL opens, rewritten every heartbeat on a
/// thread of its own (an application whose thread pool is starved still renews), and marked closed
/// when the WAL closes. Each renewal first reads the record back: when the directory has been moved
/// away (adopted) or another holder wrote the record, the holder is fenced — it raises
/// <see cref="Fenced"/> once and never touches the directory's path again.
/// </summary>
internal sealed class OwnerLease : IDisposable
{
    private readonly IFileSystem _fileSystem;
    private readonly string _directory;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly ManualResetEventSlim _stop = new();
    private readonly object _writeLock = new();
    private Thread? _thread;
    private OwnerRecord _record;
    private int _fenced;
    private int _disposed;

    private OwnerLease(IFileSystem fileSystem, string directory, LeaseOptions options, TimeProvider time, OwnerRecord record)
    {
        _fileSystem = fileSystem;
        _directory = directory;
        _options = options;
        _time = time;
        _record = record;
    }

    /// <summary>Raised once, on the heartbeat thread, with the reason, when another holder has taken the directory.</summary>
    public event Action<string>? Fenced;

    public OwnerRecord Record => Volatile.Read(ref _record);

    public bool IsFenced => Volatile.Read(ref _fenced) != 0;

    /// <summary>
    /// Writes the record of a holder that has just locked <paramref name="directory"/> and starts the
    /// heartbeat. The directory's own instance continues the epoch it finds (raised past any earlier
    /// adoption of its name), then looks for an adopter's claim that is between its claim and its move:
    /// both sides write first and look second, so at least one of them sees the other. It waits for
    /// such an adopter to move the directory away or give up; the caller opens again when it moved.
    /// </summary>
    public static OwnerLease Take(IFileSystem fileSystem, string directory, LeaseOptions options, string? description, TimeProvider time)
    {
        var identity = OwnerRecord.ForThisProcess(description, options.Environment, options.Duration, time);
        long epoch, found = 0;
        var inArea = AdoptionArea.IsAdopted(fileSystem, directory);
        if (options.AdoptedEpoch is { } adopted)
        {
            epoch = adopted;
        }
        else if (inArea)
        {
            // An adopted directory opened by a drain: it keeps its epoch; claims name its instance, not it.
            epoch = ReadQuietly(fileSystem, directory)?.Epoch ?? 0;
        }
        else
        {
            // Continue the directory's epoch, raised past every earlier adoption of this name, so that a
            // later claim on this directory never reuses an epoch.
            var previous = ReadQuietly(fileSystem, directory);
            found = previous?.Epoch ?? 0;
            if (previous is { State: not OwnerState.Closed } && (previous.Node != identity.Node || previous.BootId != identity.BootId))
            {
                // Normal after a crash and a move to another node; should that holder still run (a
                // partition), it finds this record at its next heartbeat and stops writing here.
                LogPersistEventSource.Log.DirectoryTakenOver(
                    directory,
                    $"pod {previous.Pod ?? "?"}, node {previous.Node ?? "?"}, pid {previous.ProcessId}, epoch {previous.Epoch}");
            }

            var instance = fileSystem.Path.GetFileName(fileSystem.Path.TrimEndingDirectorySeparator(directory));
            epoch = Math.Max(found, AdoptionArea.HighestEpoch(fileSystem, AdoptionArea.For(fileSystem, directory), instance));
        }

        var record = identity with
        {
            Epoch = epoch,
            State = options.AdoptedEpoch is null ? OwnerState.Live : OwnerState.Adopting,
            AdoptedBy = options.AdoptedBy,
            LeaseExpires = time.GetUtcNow() + options.Duration,
        };
        record.Write(fileSystem, directory);
        var lease = new OwnerLease(fileSystem, directory, options, time, record);
        if (options.AdoptedEpoch is null && !inArea)
        {
            // Claims above the epoch the directory had: an adopter may have claimed it just now.
            lease.WaitOutPendingClaims(found);
        }

        lease._thread = new Thread(lease.Run) { IsBackground = true, Name = "LogPersist lease" };
        lease._thread.Start();
        return lease;
    }

    /// <summary>How long an opening instance waits for an adopter caught between its claim and its move.</summary>
    internal static readonly TimeSpan ClaimWait = TimeSpan.FromSeconds(2);

    private void WaitOutPendingClaims(long above)
    {
        var instance = _fileSystem.Path.GetFileName(_fileSystem.Path.TrimEndingDirectorySeparator(_directory));
        var area = AdoptionArea.For(_fileSystem, _directory);
        var deadline = Environment.TickCount64 + (long)ClaimWait.TotalMilliseconds;
        while (AdoptionArea.PendingClaims(_fileSystem, area, instance, above).Any(IsRecent))
        {
            if (!_fileSystem.Directory.Exists(_directory))
            {
                throw new DirectoryMovedException(_directory);
            }

            if (Environment.TickCount64 >= deadline)
            {
                // The adopter saw our record (it gives up) or died between claim and move; should it move
                // the directory later after all, the heartbeat finds it gone and this holder moves on.
                return;
            }

            Thread.Sleep(20);
        }

        if (!_fileSystem.Directory.Exists(_directory))
        {
            throw new DirectoryMovedException(_directory);
        }
    }

    /// <summary>
    /// Whether a claim was made within a lease of this holder's record, by the file system's own clock
    /// (both times come from it): an older one is left by an adopter that died before its move, and must
    /// not delay every later start by the wait.
    /// </summary>
    private bool IsRecent(string claim)
    {
        try
        {
            var recordTime = _fileSystem.File.GetLastWriteTimeUtc(_fileSystem.Path.Combine(_directory, OwnerRecord.FileName));
            return recordTime - _fileSystem.File.GetLastWriteTimeUtc(claim) < _options.Duration;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private void Run()
    {
        while (!_stop.Wait(_options.Heartbeat))
        {
            Renew();
            if (IsFenced)
            {
                return;
            }
        }
    }

    /// <summary>One heartbeat: reads the record back, then rewrites it. Internal for tests.</summary>
    internal void Renew()
    {
        string? fence = null;
        lock (_writeLock)
        {
            if (IsFenced || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            var renewed = _record with { Heartbeat = _record.Heartbeat + 1, LeaseExpires = _time.GetUtcNow() + _options.Duration };
            var untrusted = false;
            try
            {
                OwnerRecord? found = null;
                try
                {
                    found = OwnerRecord.Read(_fileSystem, _directory);
                }
                catch (UntrustedFileException e)
                {
                    // Not a record anyone holding this directory wrote (a link, a huge file, garbage): it is
                    // no sign of another holder, and this holder's own record replaces it (the rename
                    // replaces a link itself, never what it points to).
                    untrusted = true;
                    LogPersistEventSource.Log.UntrustedFile(_fileSystem.Path.Combine(_directory, OwnerRecord.FileName), e.Message + " It is replaced by this holder's record.");
                }

                if (found is not null && found.Token != _record.Token)
                {
                    fence = $"another holder wrote the owner record (pod {found.Pod ?? "?"}, pid {found.ProcessId}, epoch {found.Epoch}; this holder has epoch {_record.Epoch})";
                }
                else
                {
                    renewed.Write(_fileSystem, _directory);
                    Volatile.Write(ref _record, renewed);
                }
            }
            catch (DirectoryNotFoundException)
            {
                fence = "the directory was moved away: another instance adopted it";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full volume refuses the new file: change the record's modification time instead,
                // which needs no new block, so that observers still see a live holder. Never through
                // something that is not this holder's own record.
                if (!untrusted)
                {
                    Touch(renewed.Heartbeat, e);
                }

                Volatile.Write(ref _record, renewed);
            }

            if (fence is not null)
            {
                Volatile.Write(ref _fenced, 1);
            }
        }

        if (fence is not null)
        {
            RaiseFenced(fence);
        }
    }

    private void Touch(long heartbeat, Exception writeFailure)
    {
        try
        {
            // Any distinct value will do: observers compare it for change, never with a clock.
            _fileSystem.File.SetLastWriteTimeUtc(_fileSystem.Path.Combine(_directory, OwnerRecord.FileName), DateTime.UnixEpoch.AddSeconds(heartbeat));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Renewed at the next heartbeat; six in a row must fail before anyone may adopt.
            LogPersistEventSource.Log.OperationFailed(_directory, "renewing the owner record", writeFailure);
        }
    }

    private void RaiseFenced(string reason)
    {
        LogPersistEventSource.Log.WalFenced(_directory, reason);
        try
        {
            Fenced?.Invoke(reason);
        }
#pragma warning disable CA1031 // A failing handler must not end the heartbeat thread with an unhandled exception.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogPersistEventSource.Log.OperationFailed(_directory, "reacting to being fenced", e);
        }
    }

    private static OwnerRecord? ReadQuietly(IFileSystem fileSystem, string directory)
    {
        try
        {
            return OwnerRecord.Read(fileSystem, directory);
        }
        catch (UntrustedFileException e)
        {
            LogPersistEventSource.Log.UntrustedFile(fileSystem.Path.Combine(directory, OwnerRecord.FileName), e.Message);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Stops the heartbeat without writing anything, because the directory is about to be removed. True
    /// when the record is still this holder's and no renewal can rewrite it any more: the heartbeat has
    /// stopped, the holder was not fenced, and the record on disk carries this holder's token.
    /// </summary>
    public bool Abandon()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        if (!StopThread() || IsFenced)
        {
            return false;
        }

        try
        {
            return OwnerRecord.Read(_fileSystem, _directory)?.Token == _record.Token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes the closed record after an <see cref="Abandon"/> whose removal did not happen.</summary>
    public void MarkClosed()
    {
        try
        {
            (_record with { State = OwnerState.Closed, Heartbeat = _record.Heartbeat + 1, LeaseExpires = _time.GetUtcNow() }).Write(_fileSystem, _directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Observers see the record stop changing and wait out the lease instead.
        }
    }

    /// <summary>Stops the heartbeat thread; true when it has ended (it is not stuck in file system I/O).</summary>
    private bool StopThread()
    {
        _stop.Set();
        if (_thread is null || _thread == Thread.CurrentThread)
        {
            return true;
        }

        // A renewal stuck in file system I/O (an unreachable NFS server) must not hold up a stop
        // for long: after one heartbeat the thread is left to finish on its own.
        return _thread.Join(_options.Heartbeat);
    }

    /// <summary>Stops the heartbeat; unless fenced, marks the record closed (its entries wait for the next holder or an adopter).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopThread();
        if (!Monitor.TryEnter(_writeLock, TimeSpan.Zero))
        {
            // A renewal still holds it (stuck in I/O): observers see the record stop changing all the same.
            return;
        }

        try
        {
            if (!IsFenced)
            {
                if (OwnerRecord.Read(_fileSystem, _directory)?.Token == _record.Token)
                {
                    (_record with { State = OwnerState.Closed, Heartbeat = _record.Heartbeat + 1, LeaseExpires = _time.GetUtcNow() }).Write(_fileSystem, _directory);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An observer still sees the record stop changing and waits out the lease.
        }
        finally
        {
            Monitor.Exit(_writeLock);
        }

        // The stop event is left to the collector: a heartbeat thread that outlived the bounded join may still wait on it.
    }
}

/// <summary>The WAL directory was moved away (adopted) while it was being opened; opening again creates a new one.</summary>
internal sealed class DirectoryMovedException(string directory)
    : IOException($"The WAL directory '{directory}' was moved away by an adopting instance while it was being opened.");
