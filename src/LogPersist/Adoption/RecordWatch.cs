using System.IO.Abstractions;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Adoption;

/// <summary>
/// Watches the owner records of directories about to be taken over by a process that is not their
/// adopter (<c>logpersist drain</c>). A lock that can be taken does not prove its holder dead on a
/// network file system, so a record that says live must also stay unchanged for its lease before the
/// directory is touched. All directories are looked at once at the start, so a drain of many waits
/// one lease at most in all.
/// </summary>
internal sealed class RecordWatch
{
    private readonly IFileSystem _fileSystem;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (string Stamp, OwnerRecord Record, long Since)> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _quiet = new(StringComparer.Ordinal);

    private RecordWatch(IFileSystem fileSystem, TimeProvider time)
    {
        _fileSystem = fileSystem;
        _time = time;
    }

    /// <summary>Takes a first look at every directory whose record says a holder is live (or adopting).</summary>
    public static RecordWatch Start(IFileSystem fileSystem, IEnumerable<string> directories, TimeProvider time)
    {
        var watch = new RecordWatch(fileSystem, time);
        foreach (var directory in directories)
        {
            try
            {
                if (WalHolder.Probe(directory).IsLive)
                {
                    // The lock is held: the drain's own open refuses it, naming the holder.
                    continue;
                }

                var now = time.GetTimestamp();
                var stamp = OwnerRecord.Stamp(fileSystem, directory);
                OwnerRecord? record;
                try
                {
                    record = OwnerRecord.Read(fileSystem, directory);
                }
                catch (UntrustedFileException)
                {
                    // Not a record that can be believed either way: watched for change for the default lease.
                    record = new OwnerRecord { Token = "?", Lease = LeaseOptions.DefaultDuration };
                }

                if (record is { State: not OwnerState.Closed })
                {
                    watch._live[directory] = (stamp, record, now);
                }
                else
                {
                    // Closed or without a record now; a holder that opens it while the drain runs is seen later.
                    watch._quiet[directory] = stamp;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not readable now: the drain's own open reports what is wrong with it.
            }
        }

        return watch;
    }

    /// <summary>A directory that was quiet at the start, and whose record now says live: a holder took it up meanwhile.</summary>
    private string? TakenUpSince(string directory, string stamp)
    {
        try
        {
            if (OwnerRecord.Stamp(_fileSystem, directory) == stamp
                || OwnerRecord.Read(_fileSystem, directory) is not { State: not OwnerState.Closed } now)
            {
                return null;
            }

            return $"a holder took it up while the drain ran (pod {now.Pod ?? "?"}{(now.Node is null ? "" : " on node " + now.Node)}, pid {now.ProcessId})";
        }
        catch (DirectoryNotFoundException)
        {
            return "it was moved away (adopted) meanwhile";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>How many directories have a record that says live: each waits out its lease once.</summary>
    public int Watched => _live.Count;

    /// <summary>
    /// Waits until the record of <paramref name="directory"/> has been unchanged for its lease since the
    /// first look; returns who renewed it when it changed (a live holder), or null when it did not.
    /// </summary>
    public async Task<string?> WaitAsync(string directory, CancellationToken cancellationToken)
    {
        if (!_live.TryGetValue(directory, out var first))
        {
            return _quiet.TryGetValue(directory, out var quiet) ? TakenUpSince(directory, quiet) : null;
        }

        // Bounded: a record may state any lease, and a drain must not wait a day on its word.
        var lease = first.Record.Lease > TimeSpan.Zero ? first.Record.HonouredLease : LeaseOptions.DefaultDuration;
        var left = lease - _time.GetElapsedTime(first.Since);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, _time, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (OwnerRecord.Stamp(_fileSystem, directory) == first.Stamp)
            {
                return null;
            }

            OwnerRecord? now;
            try
            {
                now = OwnerRecord.Read(_fileSystem, directory);
            }
            catch (UntrustedFileException e)
            {
                return $"its owner record changed during its lease and is not a valid record ({e.Message}); left alone";
            }

            return now is null || now.State == OwnerState.Closed
                ? null
                : $"its owner record is renewed by a live holder (pod {now.Pod ?? "?"}{(now.Node is null ? "" : " on node " + now.Node)}, pid {now.ProcessId}); the lock alone cannot show it on a network file system";
        }
        catch (DirectoryNotFoundException)
        {
            return "it was moved away (adopted) meanwhile";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
