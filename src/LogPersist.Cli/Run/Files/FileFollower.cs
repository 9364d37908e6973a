using LogPersist.Cli.Run.Controls;
using LogPersist.Pipeline;
using LogPersist.Wal;
using Microsoft.Win32.SafeHandles;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// Follows the files that <c>--files</c> names into the WAL, on a thread of its own, from the start of
/// each new file and from the recorded position of each file a previous run on the same WAL was reading
/// (<see cref="FilePositions"/>). A pass lists the matching files, opens the new ones, reads every open
/// one to its end and records its lines; a pass runs when a watched directory reports a name change
/// (created, deleted, renamed, or lost events) and at least every <see cref="PollInterval"/> (the
/// safety net where notifications are missed or unavailable). In between, a notification that a
/// followed file was written to reads that file only.
/// </summary>
/// <remarks>
/// Files are known by device and inode, not by name: a file renamed to a name that still matches is the
/// same file, read on; a file whose name no longer matches (renamed away, deleted) is read to its end
/// through the handle still open, then closed. A file found shorter than what was read, or with other
/// first bytes, was truncated: it is read again from its start. A new file whose first 256 bytes are
/// those of a file already read (a copy, as copy-truncate rotation makes) starts where that file's
/// reading was, so what was read is not read twice and what was written after is not skipped.
/// </remarks>
internal sealed class FileFollower : IAsyncDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan DefaultPartialLineTimeout = TimeSpan.FromSeconds(1);

    private readonly LogPipeline _pipeline;
    private volatile FileGlobs _globs;
    private readonly FileLineRules _rules;
    private readonly FilePositions _positions;
    private readonly int _maxPieceBytes;
    private readonly TextWriter _error;
    private readonly Dictionary<(ulong, ulong), FollowedFile> _files = [];
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly ManualResetEventSlim _changed = new(false);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Passes after which the position of a file no longer listed is forgotten: a minute at the poll interval, less when changes wake the loop.</summary>
    private const long ForgetAfterPasses = 240;

    private readonly Dictionary<(ulong, ulong), (FileIdentity Identity, long Since)> _gone = [];
    /// <summary>Files seen but not read yet (see <see cref="Settled"/>): their handle, name, and when they were first seen.</summary>
    private readonly Dictionary<(ulong, ulong), (SafeFileHandle Handle, string Path, long Since)> _young = [];

    /// <summary>Names notifications reported written to since the last look (<see cref="ReadChanged"/>).</summary>
    private readonly HashSet<string> _changedPaths = new(StringComparer.Ordinal);

    /// <summary>Each followed file by the name it was last listed under.</summary>
    private readonly Dictionary<string, (ulong, ulong)> _byPath = new(StringComparer.Ordinal);

    /// <summary>Set when a notification says names changed (created, deleted, renamed) or events were lost: the next wake-up lists the files.</summary>
    private volatile bool _relist = true;
    private long _lastPass;
    private long _passes;
    private Thread? _thread;
    private long _appended;

    /// <summary>
    /// Follows <paramref name="patterns"/> into <paramref name="pipeline"/>. The
    /// <paramref name="positions"/> are made before the pipeline is opened and handed to it as its
    /// <see cref="LogPersistOptions.BeforeForgettingShipped"/> hook, so that nothing shipped is
    /// forgotten before they are read.
    /// </summary>
    public FileFollower(LogPipeline pipeline, IEnumerable<string> patterns, int maxPieceBytes, TextWriter error, FilePositions positions, FileLineRules? rules = null)
    {
        _pipeline = pipeline;
        _globs = new FileGlobs(patterns);
        _maxPieceBytes = maxPieceBytes;
        _error = error;
        _positions = positions;
        _rules = rules ?? new FileLineRules(error: error);
    }

    public TimeSpan PartialLineTimeout { get; init; } = DefaultPartialLineTimeout;

    /// <summary>What is done to each line before the WAL; null records every line.</summary>
    public LineFilter? Filter { get; init; }

    /// <summary>
    /// Follows <paramref name="patterns"/> from the next pass on (a <c>--config</c> reload): files no
    /// longer matched are read to their end and closed, newly matched ones are read from their first line.
    /// </summary>
    public void SetPatterns(IEnumerable<string> patterns)
    {
        _globs = new FileGlobs(patterns);
        _relist = true;
        _changed.Set();
    }

    /// <summary>Entries appended from files so far.</summary>
    public long Appended => Interlocked.Read(ref _appended);

    /// <summary>Reads the recorded positions, then starts following; returns once the first pass is done.</summary>
    public void Start()
    {
        _positions.EnsureLoaded(_pipeline.Wal);
        Pass(final: false);
        _thread = new Thread(Loop) { IsBackground = true, Name = "logpersist run files" };
        _thread.Start();
    }

    /// <summary>Stops following after one last pass that records every line, ended or not, that the files hold.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        _changed.Set();
        if (_thread is not null)
        {
            await _done.Task.ConfigureAwait(false);
        }
    }

    private void Loop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    _changed.Wait(PollInterval, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                _changed.Reset();
                if (_relist || _pipeline.Time.GetElapsedTime(_lastPass) >= PollInterval || !ReadChanged())
                {
                    Pass(final: false);
                }
            }

            Pass(final: true);
        }
        catch (Exception e)
        {
            // Following stops; the child and its pipes go on. Say so rather than hide it.
            try
            {
                _error.WriteLine($"logpersist run: following the files stopped ({e.GetType().Name}: {e.Message}); lines written to them from now on are not recorded.");
                _error.Flush();
            }
            catch (Exception)
            {
                // The wrapper's stderr is gone: nothing more can be said.
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>
    /// Between full passes: reads only the followed files a notification named as written to. False
    /// when a name is not a followed file (one too young to read, or not listed yet): a full pass is due.
    /// </summary>
    private bool ReadChanged()
    {
        List<string> changed;
        lock (_changedPaths)
        {
            changed = [.. _changedPaths];
            _changedPaths.Clear();
        }

        foreach (var path in changed)
        {
            if (!_byPath.TryGetValue(path, out var key) || !_files.TryGetValue(key, out var file) || file.Path != path)
            {
                return false;
            }

            if (file.Original is null)
            {
                ReadFile(file, final: false);
            }
        }

        return true;
    }

    private void Pass(bool final)
    {
        _relist = false;
        var now = _pipeline.Time.GetTimestamp();
        _lastPass = now;
        lock (_changedPaths)
        {
            _changedPaths.Clear();
        }

        var seen = new HashSet<(ulong, ulong)>();
        var fresh = new List<(string Path, (ulong, ulong) Key)>();
        foreach (var path in _globs.Expand())
        {
            if (FileNodes.Stat(path) is not { } node)
            {
                continue;
            }

            var key = (node.Device, node.Inode);
            if (!seen.Add(key))
            {
                // A second name of a file already seen this pass (glog's symlink to the current file).
                continue;
            }

            if (_files.TryGetValue(key, out var known))
            {
                known.Path = path;
            }
            else if (final || Settled(path, key, node.Size, now))
            {
                fresh.Add((path, key));
            }
        }

        // A file seen too young to read and gone since (deleted, renamed away): read what it held
        // through the handle kept since it was first seen.
        foreach (var (key, young) in _young.Where(y => !seen.Contains(y.Key)).ToList())
        {
            _young.Remove(key);
            if (Open(young.Path, key, young.Handle) is { } opened)
            {
                ReadFile(opened, final: true);
                _gone[key] = (opened.Identity, _passes);
                opened.Dispose();
            }
        }

        // Files already open first, so that a truncation is known before a new file is taken for a copy;
        // copies after their originals, so that a copy takes the position its original has after this pass.
        foreach (var (key, file) in _files.OrderBy(f => f.Value.Original is null ? 0 : 1).ToList())
        {
            var gone = !seen.Contains(key);
            ReadFile(file, final || gone);
            if (gone)
            {
                // Renamed away or deleted: read to its end through the open handle; nothing more is expected.
                // Its position is kept a while: a listing taken during a rename can miss a file that is
                // still there, and the next pass must then resume it, not read it again.
                file.Dispose();
                _files.Remove(key);
                _gone[key] = (file.Identity, _passes);
            }
        }

        foreach (var (key, (identity, since)) in _gone.ToList())
        {
            if (_passes - since > ForgetAfterPasses)
            {
                _positions.Forget(identity);
                _gone.Remove(key);
            }
        }

        _passes++;
        foreach (var (path, key) in fresh)
        {
            _gone.Remove(key);
            var handle = _young.Remove(key, out var young) ? young.Handle : null;
            if (Open(path, key, handle) is { } opened)
            {
                _files.Add(key, opened);
                ReadFile(opened, final);
            }
        }

        _byPath.Clear();
        foreach (var (key, file) in _files)
        {
            _byPath[file.Path] = key;
        }

        Interlocked.Exchange(ref _appended, _files.Values.Sum(f => f.Appended));
        if (final)
        {
            // Else saved only when the WAL is about to forget shipped entries (see FilePositions).
            _positions.Save();
        }

        Watch();
    }

    /// <summary>
    /// Whether a file not yet followed can be opened: once its first bytes are all there to be
    /// fingerprinted, or once it was first seen a partial-line timeout ago. A file shorter than that
    /// may be a copy being made (copy-truncate), which would be taken for a new file and read twice;
    /// making a copy takes far less than the timeout.
    /// </summary>
    private bool Settled(string path, (ulong, ulong) key, long size, long now)
    {
        if (_young.TryGetValue(key, out var young))
        {
            return size >= FileIdentity.FingerprintBytes || _pipeline.Time.GetElapsedTime(young.Since, now) >= PartialLineTimeout;
        }

        if (size >= FileIdentity.FingerprintBytes)
        {
            return true;
        }

        // Opened now all the same: a file deleted before it is read is read through this handle.
        if (OpenHandle(path, key) is { } handle)
        {
            _young[key] = (handle, path, now);
        }

        return false;
    }

    private void ReadFile(FollowedFile file, bool final)
    {
        file.Read(_pipeline.Time, PartialLineTimeout, final);

        if (file.Original is null)
        {
            _positions.Advance(file.Identity, file.Offset, file.Path);
        }
        else
        {
            // A copy's position is its original's: a restart finds the copy again, from the original's entries.
            _positions.Forget(file.Identity);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> if it is still the file <paramref name="key"/> names and a regular
    /// file (a FIFO or a device matching a pattern is never read); null otherwise (the next pass sees
    /// what is there). The open takes no lock: the child's own exclusive opens keep working.
    /// </summary>
    private static SafeFileHandle? OpenHandle(string path, (ulong Device, ulong Inode) key)
    {
        SafeFileHandle handle;
        try
        {
            handle = PosixFiles.OpenToRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var opened = FileNodes.Stat(handle);
        if ((opened.Device, opened.Inode) != key || PosixFiles.Stat(handle).Kind != FileKind.Regular)
        {
            // Replaced between the listing and the open, or not a file to read lines from.
            handle.Dispose();
            return null;
        }

        return handle;
    }

    private FollowedFile? Open(string path, (ulong Device, ulong Inode) key, SafeFileHandle? handle)
    {
        handle ??= OpenHandle(path, key);
        if (handle is null)
        {
            return null;
        }

        var opened = FileNodes.Stat(handle);

        var start = 0L;
        var identity = new FileIdentity(key.Device, key.Inode, 0, FileIdentity.Hash([]));
        if (_positions.Find(key.Device, key.Inode) is { } recorded)
        {
            if (FileIdentity.FingerprintOf(handle, recorded.Identity.FingerprintLength) is { } now && now.Hash == recorded.Identity.Fingerprint)
            {
                // Read before by a run on this WAL: resume just past its last recorded line.
                identity = recorded.Identity;
                start = recorded.Offset;
            }
            else if (recorded.Identity.FingerprintLength > 0)
            {
                // Truncated (or replaced on the same inode) while no run watched: a copy of it may show up.
                _positions.Truncated(recorded.Identity, recorded.Offset);
            }
        }

        FollowedFile? original = null;
        if (start == 0 && FileIdentity.FingerprintOf(handle) is { Length: FileIdentity.FingerprintBytes } first && CopyOfFollowed(handle, opened.Size, first.Hash) is { } followed)
        {
            // A copy of a file being read: its position is that file's until that one is truncated.
            original = followed;
            identity = identity with { FingerprintLength = first.Length, Fingerprint = first.Hash };
        }
        else if (start == 0 && (_positions.TakeTruncated(handle) ?? _positions.TruncatedOriginal(handle, key)) is { } truncatedAt)
        {
            // A copy of a file read before it was truncated (now, or while no run watched): what it
            // holds up to where that reading was is recorded.
            start = Math.Min(truncatedAt, opened.Size);
        }

        var recorder = new LineRecorder(_pipeline, LineRecorder.FileCategory) { Component = _rules.Component(path), Filter = Filter };
        var file = new FollowedFile(handle, path, identity, start, recorder, _positions, _maxPieceBytes);
        if (original is not null)
        {
            file.ShadowOf(original);
        }

        return file;
    }

    /// <summary>The file being read that <paramref name="candidate"/> is a copy of (same first bytes, same bytes before what was read), or null.</summary>
    private FollowedFile? CopyOfFollowed(SafeFileHandle candidate, long size, uint fingerprint)
    {
        foreach (var file in _files.Values)
        {
            if (file.Original is null && file.Identity.IsFull && file.Identity.Fingerprint == fingerprint
                && file.SameBytesAs(candidate, Math.Min(size, file.ReadTo)))
            {
                return file;
            }
        }

        return null;
    }

    /// <summary>Watches each pattern's fixed directory and each directory a followed file is in; a change wakes the loop.</summary>
    private void Watch()
    {
        var wanted = new HashSet<string>(_globs.Roots, StringComparer.Ordinal);
        foreach (var file in _files.Values)
        {
            if (System.IO.Path.GetDirectoryName(file.Path) is { } directory)
            {
                wanted.Add(directory);
            }
        }

        foreach (var directory in _watchers.Keys.Where(d => !wanted.Contains(d)).ToList())
        {
            _watchers[directory].Dispose();
            _watchers.Remove(directory);
        }

        foreach (var directory in wanted)
        {
            if (_watchers.ContainsKey(directory) || !Directory.Exists(directory))
            {
                continue;
            }

            try
            {
                var watcher = new FileSystemWatcher(directory)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size | NotifyFilters.LastWrite,
                };
                watcher.Changed += (_, e) =>
                {
                    lock (_changedPaths)
                    {
                        _changedPaths.Add(e.FullPath);
                    }

                    _changed.Set();
                };
                watcher.Created += (_, _) => Relist();
                watcher.Deleted += (_, _) => Relist();
                watcher.Renamed += (_, _) => Relist();
                watcher.Error += (_, _) => Relist();
                watcher.EnableRaisingEvents = true;
                _watchers.Add(directory, watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                // No notifications here (inotify limit, no permission): the poll still finds every change.
            }
        }
    }

    private void Relist()
    {
        _relist = true;
        _changed.Set();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        foreach (var watcher in _watchers.Values)
        {
            watcher.Dispose();
        }

        foreach (var file in _files.Values)
        {
            file.Dispose();
        }

        _files.Clear();
        foreach (var young in _young.Values)
        {
            young.Handle.Dispose();
        }

        _young.Clear();
        _stop.Dispose();
        _changed.Dispose();
    }
}
