using System.IO.Abstractions;
using LogPersist.Loki;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Shipping;

/// <summary>Where a drain stands, reported while it runs.</summary>
internal readonly record struct DrainProgress(long Total, long Done, long Bytes, long Refused, string? LastError);

/// <summary>
/// Ships everything a WAL directory holds with the SDK's own shipper — same client, labels, batching
/// and acknowledgement discipline — then deletes the shipped segments, or removes the whole directory.
/// It locks the directory like a writer would, so it never runs next to a live process, and it moves the checkpoint only over what
/// Loki accepted: stopping it at any moment and running it again sends nothing twice (beyond a batch
/// in flight, which Loki deduplicates) and loses nothing.
/// </summary>
internal static class WalDrain
{
    /// <summary>How long a stop waits for batches in flight once the drain is interrupted.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan FlushSlice = TimeSpan.FromHours(1);

    public static async Task<DrainResult> RunAsync(
        IFileSystem fileSystem,
        string directory,
        ShipperOptions shipping,
        HttpMessageHandler? handler,
        TimeProvider time,
        IProgress<DrainProgress>? progress,
        TimeSpan progressInterval,
        CancellationToken cancellationToken,
        string ownerDescription = "logpersist drain",
        LeaseOptions? lease = null,
        TimeSpan settle = default,
        bool removeDirectory = false)
    {
        var started = time.GetTimestamp();
        var labels = shipping.DetectedLabels.Count > 0 ? StreamResolver.StaticLabels(shipping).Text : "";
        WriteAheadLog wal;
        try
        {
            wal = WriteAheadLog.Open(new WalOptions
            {
                Directory = directory,
                CreateSegmentOnOpen = false,
                // Only markers are ever appended by a drain; small segments keep them cheap, and no cap
                // may evict the entries it is there to ship.
                SegmentBytes = 1 << 20,
                MaxDiskBytes = long.MaxValue / 4,
                FullMode = WalFullMode.DropNewest,
                OwnerDescription = ownerDescription,
                Lease = lease ?? new LeaseOptions(),
                FileSystem = fileSystem,
                TimeProvider = time,
            });
        }
        catch (WalLockedException e)
        {
            return new DrainResult(directory, DrainStatus.Held, 0, 0, 0, TimeSpan.Zero, labels, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DrainResult(directory, DrainStatus.Failed, 0, 0, 0, TimeSpan.Zero, labels, e.Message);
        }

        Shipper shipper;
        try
        {
            shipper = new Shipper(wal, shipping, handler);
        }
        catch (ArgumentException e)
        {
            // Settings taken from the directory that the shipper refuses: this directory fails, no other.
            wal.Dispose();
            return new DrainResult(directory, DrainStatus.Failed, 0, 0, 0, TimeSpan.Zero, labels, e.Message);
        }
        catch
        {
            wal.Dispose();
            throw;
        }

        var finished = false;
        var drained = false;
        string? unreadable = null;
        try
        {
            shipper.Start();
            using var reporting = new CancellationTokenSource();
            var reporter = progress is null ? Task.CompletedTask : ReportAsync(shipper, wal.Recovery, progress, progressInterval, time, reporting.Token);
            try
            {
                // Another holder taking the directory (a later adoption) ends the drain like a stop. The
                // event comes on the lease's thread, which must not run the drain's ending inline.
                using var fenced = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                void OnFenced(string reason) => ThreadPool.QueueUserWorkItem(_ =>
                {
                    try
                    {
                        fenced.Cancel();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The drain had already ended.
                    }
                });
                wal.Fenced += OnFenced;
                try
                {
                    if (wal.IsFenced)
                    {
                        await fenced.CancelAsync().ConfigureAwait(false);
                    }

                    finished = await ShipEverythingAsync(wal, shipper, time, time.GetTimestamp(), settle, fenced.Token).ConfigureAwait(false);
                }
                finally
                {
                    wal.Fenced -= OnFenced;
                }
            }
            finally
            {
                await reporting.CancelAsync().ConfigureAwait(false);
                await reporter.ConfigureAwait(false);
            }
        }
        finally
        {
            await shipper.StopAsync(finished ? Shipper.DefaultStopTimeout : StopTimeout).ConfigureAwait(false);
            await shipper.DisposeAsync().ConfigureAwait(false);
            if (finished)
            {
                drained = wal.DisposeIfDrained(removeDirectory, out unreadable);
                if (drained && removeDirectory)
                {
                    AdoptionArea.RemoveClaimsOf(fileSystem, directory);
                }
            }
            else
            {
                wal.Dispose();
            }
        }

        var metrics = shipper.Metrics;
        var refused = Refused(metrics);
        var entries = metrics.ShippedEntries;
        var status = !finished ? DrainStatus.Interrupted
            : entries + refused == 0 && drained ? DrainStatus.Empty
            : drained ? DrainStatus.Drained
            : DrainStatus.Failed;
        var lastError = shipper.LastRetryReason ?? shipper.LastError;
        var message = status switch
        {
            DrainStatus.Failed when shipper.StoppedAt is { } newer => newer.ToString(),
            DrainStatus.Interrupted when wal.IsFenced => "another holder took the directory over; it ships the rest",
            DrainStatus.Interrupted => "stopped before everything was shipped; run drain again to continue" + (lastError is null ? "" : $" (last error: {lastError})"),
            DrainStatus.Failed => unreadable is not null
                ? $"a segment could not be read ({unreadable}); it and everything after it stay in the WAL"
                : "entries are left in the WAL (a segment could not be deleted, or a marker was written while closing); run drain again",
            _ => wal.KeptBecause is { } kept ? "the directory was kept: " + kept : null,
        };
        return new DrainResult(directory, status, entries, metrics.ShippedBytes, refused, time.GetElapsedTime(started), labels, message);
    }

    /// <summary>
    /// Flushes until the reader has nothing left, including markers the shipper appended on the way,
    /// and at least <paramref name="settle"/> has passed since <paramref name="started"/>: an adopter
    /// keeps reading for a lease, in case the holder it took the directory from, cut off rather than
    /// dead, appended a little more before it noticed.
    /// </summary>
    private static async Task<bool> ShipEverythingAsync(WriteAheadLog wal, Shipper shipper, TimeProvider time, long started, TimeSpan settle, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var appended = wal.Metrics.AppendedRecords;
            if (!await shipper.FlushAsync(FlushSlice, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            if (wal.Metrics.AppendedRecords != appended)
            {
                continue;
            }

            var left = settle - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return true;
            }

            try
            {
                await Task.Delay(left < SettlePoll ? left : SettlePoll, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private static readonly TimeSpan SettlePoll = TimeSpan.FromMilliseconds(500);

    /// <summary>Reports every <paramref name="interval"/>; the total is known once the recovery scan (which runs while shipping starts) is done.</summary>
    private static async Task ReportAsync(Shipper shipper, Task<RecoveryReport> recovery, IProgress<DrainProgress> progress, TimeSpan interval, TimeProvider time, CancellationToken cancellationToken)
    {
        while (true)
        {
            var total = recovery.IsCompletedSuccessfully ? recovery.Result.Records : 0;
            var metrics = shipper.Metrics;
            var refused = Refused(metrics);
            progress.Report(new DrainProgress(total, metrics.ShippedEntries + refused, metrics.ShippedBytes, refused, shipper.LastRetryReason ?? shipper.LastError));
            try
            {
                await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static long Refused(ShipperMetrics metrics) =>
        Enum.GetValues<RefusalReason>().Sum(metrics.Refused);
}
