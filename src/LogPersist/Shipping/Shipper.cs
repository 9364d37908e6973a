using System.Collections.Concurrent;
using LogPersist.Diagnostics;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// Ships a WAL to Loki: one loop reads records from the checkpoint on (following new appends),
/// builds batches and hands each to a sender; up to <see cref="ShipperOptions.MaxInFlight"/> are in
/// flight, counting those Loki accepted that still wait for an earlier one. A batch is acknowledged
/// when Loki accepted or finally refused every entry in it, and the checkpoint only moves over the
/// contiguous prefix of acknowledged batches, so a crash at any moment resends (identically, at most
/// the batches in flight) rather than loses. Memory is bounded by the batches in flight, never by
/// the backlog.
/// </summary>
internal sealed class Shipper : IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Unanswered buildinfo requests (transport faults, 5xx) before shipping starts with metadata in the lines while it keeps asking.</summary>
    public const int BuildInfoAttempts = 4;

    private readonly WriteAheadLog _wal;
    private readonly ShipperOptions _options;
    private readonly TimeProvider _time;
    private readonly LokiClient _client;
    private readonly PushPipeline _pipeline;
    private readonly StreamResolver _streams;
    private readonly AckTracker _acks;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly ConcurrentQueue<TaskCompletionSource<WalPosition>> _flushes = new();
    private readonly ConcurrentDictionary<Task, byte> _sending = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _stopSending = new();
    private readonly EntryEncoder _markerEncoder = new(512);
    private readonly System.Buffers.ArrayPool<byte> _bodies;
    private readonly StreamOrder _order;
    private readonly ConcurrentDictionary<string, StreamRejection> _rejectedStreams = new(StringComparer.Ordinal);
    private volatile IngestionBlock? _blocked;
    private Task _loop = Task.CompletedTask;
    private volatile bool _sendMetadata;
    private volatile bool _metadataRefused;
    private long _builderOldest = long.MaxValue;
    private int _started;
    private int _stopped;

    public Shipper(WriteAheadLog wal, ShipperOptions options, HttpMessageHandler? handler = null)
    {
        options.Validate();
        _wal = wal;
        _options = options;
        _time = options.TimeProvider;
        _client = new LokiClient(options.Loki, handler);
        Metrics = new ShipperMetrics(LagSeconds, wal.Directory);
        Refusals = new RefusalWatch(_time);
        _pipeline = new PushPipeline(_client, options.Loki, OnRetry);
        _order = new StreamOrder(options.ConcurrentSpan);
        _streams = new StreamResolver(options);
        _acks = new AckTracker(wal.Checkpoint, wal.Acknowledge);
        _slots = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        // Each request in flight holds a body; one more is being encoded (raw protobuf before compression).
        _bodies = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 16 << 20, maxArraysPerBucket: options.MaxInFlight + 2);
        _sendMetadata = options.StructuredMetadata == StructuredMetadataMode.On;
    }

    public ShipperMetrics Metrics { get; }

    /// <summary>Since when Loki has refused every push in a way retrying cannot fix, for the health check.</summary>
    public RefusalWatch Refusals { get; }

    /// <summary>Why the last push attempt is being retried (status or transport error, free of credentials); null once a push is accepted again.</summary>
    public string? LastRetryReason { get; private set; }

    /// <summary>The last reason Loki gave for refusing entries, for diagnostics.</summary>
    public string? LastRefusalReason { get; private set; }

    /// <summary>The last configuration-type failure (authentication, wrong URL), for diagnostics.</summary>
    public string? LastError { get; private set; }

    /// <summary>Set while Loki answers 260 (or another 2xx that stores nothing): what it said and since when; null once a push is accepted.</summary>
    public IngestionBlock? Blocked => _blocked;

    /// <summary>Streams whose every entry Loki refuses because of their labels, until one of their entries is accepted again.</summary>
    public IReadOnlyCollection<StreamRejection> RejectedStreams => (IReadOnlyCollection<StreamRejection>)_rejectedStreams.Values;

    /// <summary>Whether trace and span ids are currently sent as structured metadata.</summary>
    public bool SendsStructuredMetadata => _sendMetadata;

    public WalPosition Acknowledged => _acks.Acknowledged;

    /// <summary>Batches read from the WAL and not yet acknowledged: what the shipper holds in memory.</summary>
    public int PendingBatches => _acks.Pending;

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(() => RunAsync(_stopReading.Token));
        }
    }

    /// <summary>
    /// Ships everything appended before the call, waiting at most <paramref name="timeout"/>.
    /// Returns true when all of it was acknowledged; false leaves the rest in the WAL. Never throws.
    /// </summary>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Volatile.Read(ref _started) == 0 || Volatile.Read(ref _stopped) != 0
            ? Task.FromResult(false)
            : FlushCoreAsync(timeout, cancellationToken);

    private async Task<bool> FlushCoreAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var request = new TaskCompletionSource<WalPosition>(TaskCreationOptions.RunContinuationsAsynchronously);
        _flushes.Enqueue(request);
        _wake.Release();
        try
        {
            var target = await request.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            var remaining = timeout - _time.GetElapsedTime(started);
            await _acks.WhenAcknowledged(target).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Flushes until the deadline, then stops reading and sending; never takes longer than <paramref name="timeout"/> (plus scheduling).</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }

        var started = _time.GetTimestamp();
        var flushed = false;
        if (Volatile.Read(ref _started) != 0)
        {
            flushed = await FlushCoreAsync(timeout, CancellationToken.None).ConfigureAwait(false);
        }

        await _stopReading.CancelAsync().ConfigureAwait(false);
        await _stopSending.CancelAsync().ConfigureAwait(false);
        var remaining = timeout - _time.GetElapsedTime(started);
        try
        {
            await Task.WhenAll(_sending.Keys.Append(_loop)).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // Whatever is still running observes the cancellation; its batches stay in the WAL.
        }

        return flushed;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            if (_options.StructuredMetadata == StructuredMetadataMode.Auto)
            {
                if (await DecideMetadataAsync(BuildInfoAttempts, stop).ConfigureAwait(false) is { } decided)
                {
                    _sendMetadata = decided;
                    SaveMetadataDecision(decided);
                }
                else
                {
                    // Loki does not answer yet: ship with metadata in the lines (always accepted) and keep asking.
                    var asking = Task.Run(() => AskUntilAnsweredAsync(stop), CancellationToken.None);
                    _sending.TryAdd(asking, 0);
                }
            }

            // Everything before this position has been handed to a sender; a restarted read resumes here.
            var sealedEnd = _acks.Acknowledged;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await ReadAsync(() => sealedEnd, end => sealedEnd = end, stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    // A bug or an unexpected fault, not a Loki or WAL fault (those are handled where they
                    // happen): report it and read again from the last sealed batch; nothing is skipped.
                    LogPersistEventSource.Log.ShipperFault(_wal.Directory, e.ToString());
                    await Task.Delay(_options.Loki.RetryMaxDelay, _time, stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task ReadAsync(Func<WalPosition> getSealedEnd, Action<WalPosition> setSealedEnd, CancellationToken stop)
    {
        var sealedEnd = getSealedEnd();
        using var reader = _wal.CreateReader(sealedEnd);
        using var builder = new BatchBuilder(_options, _streams) { OnUndecodable = ReportUndecodable };
        while (!stop.IsCancellationRequested)
        {
            builder.SendMetadata = _sendMetadata;
            var drained = false;
            while (!builder.IsFull)
            {
                if (!reader.TryRead(out var record))
                {
                    drained = true;
                    break;
                }

                builder.Add(record);
            }

            Volatile.Write(ref _builderOldest, builder.OldestTimestampNs);
            var flushing = !_flushes.IsEmpty;
            var due = builder.IsFull
                || (builder.HasContent && (flushing || _time.GetElapsedTime(builder.StartedAt) >= _options.BatchMaxWait));
            var movedOn = !builder.HasContent && reader.Position > sealedEnd && (flushing || reader.Position.Segment > sealedEnd.Segment);
            if (due || movedOn)
            {
                var batch = builder.Seal(sealedEnd, reader.Position);
                await DispatchAsync(batch, stop).ConfigureAwait(false);
                sealedEnd = batch.End;
                setSealedEnd(sealedEnd);
                Volatile.Write(ref _builderOldest, long.MaxValue);
                continue;
            }

            if (drained && flushing && !builder.HasContent)
            {
                while (_flushes.TryDequeue(out var flush))
                {
                    flush.TrySetResult(sealedEnd);
                }
            }

            if (drained)
            {
                var wait = _options.PollInterval;
                if (builder.HasContent)
                {
                    var left = _options.BatchMaxWait - _time.GetElapsedTime(builder.StartedAt);
                    wait = left < wait ? left : wait;
                }

                if (wait > TimeSpan.Zero)
                {
                    await _wake.WaitAsync(wait, stop).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task DispatchAsync(Batch batch, CancellationToken stop)
    {
        await _slots.WaitAsync(stop).ConfigureAwait(false);
        _acks.Add(batch);
        var turn = _order.Enter(batch);
        var sending = Task.Run(() => SendBatchAsync(batch, turn), CancellationToken.None);
        _sending.TryAdd(sending, 0);
        _ = sending.ContinueWith(t => _sending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendBatchAsync(Batch batch, Task turn)
    {
        var token = _stopSending.Token;
        var acknowledged = 0;
        try
        {
            // Earlier batches of the same streams that this one could push out of Loki's window go first.
            await turn.WaitAsync(token).ConfigureAwait(false);
            if (batch.RefusedBeforeSend.Any(c => c > 0))
            {
                ReportRefused(batch.RefusedBeforeSend, "entries older than the maximum entry age were not sent", markersInPart: 0);
            }

            while (true)
            {
                try
                {
                    await ShipAsync(batch, token).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    // Not a Loki answer (those are handled in ShipAsync): report it and resend the batch later, unchanged.
                    LogPersistEventSource.Log.ShipperFault(_wal.Directory, e.ToString());
                    await Task.Delay(_options.Loki.RetryMaxDelay, _time, token).ConfigureAwait(false);
                }
            }

            acknowledged = _acks.Complete(batch);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped: the batch stays in the WAL and is sent again, identically, after the next start.
        }
        finally
        {
            _order.Leave(batch);

            // A batch keeps its slot until the checkpoint has passed it, not just until Loki answered: one
            // accepted early waits in memory for every batch before it, and a crash would resend it. So
            // batches held (and resent) never exceed MaxInFlight, however long an earlier one is retried.
            if (acknowledged > 0)
            {
                _slots.Release(acknowledged);
            }
        }
    }

    private async Task ShipAsync(Batch batch, CancellationToken token)
    {
        var parts = new Queue<List<PushStream>>();
        if (batch.Entries > 0)
        {
            parts.Enqueue(batch.Streams);
        }

        var rebuilt = false;
        while (parts.TryDequeue(out var part))
        {
            token.ThrowIfCancellationRequested();
            PushClassification result;
            int entries;
            using (var content = PushEncoder.Encode(part, _options.Loki.Encoding, _options.Loki.GzipJson, _bodies))
            {
                entries = content.Entries;
                var response = await _pipeline.SendAsync(content, token).ConfigureAwait(false);
                Metrics.Request(response.StatusClass);
                result = ResponseClassifier.Classify(response, part);
            }

            switch (result.Verdict)
            {
                case PushVerdict.Accepted:
                    Metrics.Shipped(entries, Batch.CountLineBytes(part));
                    Accepted(part);
                    break;
                case PushVerdict.Refused:
                    Metrics.Shipped(Math.Max(0, entries - result.Refused), 0);
                    if (result.Refused >= entries)
                    {
                        Refusals.Refused(400);
                    }
                    else
                    {
                        Accepted(part, except: result.RejectedStreams);
                    }

                    foreach (var rejection in result.RejectedStreams)
                    {
                        _rejectedStreams[rejection.Labels] = rejection;
                        LogPersistEventSource.Log.StreamRefused(_client.PushUri.ToString(), rejection.Labels, rejection.Message);
                    }

                    ReportRefused(result.RefusedByReason, result.Reason, CountMarkers(part));
                    break;
                case PushVerdict.TooLarge or PushVerdict.Retry when entries > 1:
                    // Too large, or a 429 that kept coming (a batch over the tenant's burst never passes): halves, in order.
                    var (first, second) = Batch.Split(part);
                    parts.Enqueue(first);
                    parts.Enqueue(second);
                    break;
                case PushVerdict.TooLarge:
                    var counts = PushClassification.NoRefusals();
                    counts[(int)RefusalReason.LineTooLong] = 1;
                    ReportRefused(counts, "a request holding a single entry is too large for the server", CountMarkers(part));
                    break;
                case PushVerdict.SplitByStream:
                    // Loki refused the whole request for one stream's labels and stored nothing: each stream
                    // alone, so only the bad one is refused.
                    foreach (var stream in part)
                    {
                        parts.Enqueue([stream]);
                    }

                    break;
                case PushVerdict.MetadataRefused when !rebuilt:
                    // Entries without metadata were stored; the others were refused. Rebuild the whole
                    // range with metadata folded into lines: the stored ones resend identically.
                    _sendMetadata = false;
                    _metadataRefused = true;
                    SaveMetadataDecision(false);
                    LogPersistEventSource.Log.MetadataFolded(_client.PushUri.ToString());
                    rebuilt = true;
                    parts.Clear();
                    var again = Rebuild(batch);
                    if (again.Entries > 0)
                    {
                        parts.Enqueue(again.Streams);
                    }

                    break;
                case PushVerdict.MetadataRefused:
                    // Refused again with metadata folded into the lines: nothing more can be done for these entries.
                    var refused = PushClassification.NoRefusals();
                    refused[(int)RefusalReason.Other] = entries;
                    ReportRefused(refused, result.Reason, CountMarkers(part));
                    break;
                default:
                    // Retried inside the pipeline until cancelled; should one come back, the part is sent again.
                    parts.Enqueue(part);
                    break;
            }
        }
    }

    /// <summary>Called before each retry of a push: records why, and reports blocks and configuration errors loudly.</summary>
    private void OnRetry(PushResponse? response, TimeSpan delay)
    {
        Metrics.Retry();
        Metrics.Request(response?.StatusClass ?? "transport");
        LastRetryReason = response is { Status: > 0 } answer ? $"HTTP {answer.Status} from {_client.PushUri}"
            : response?.TransportError ?? "no answer from " + _client.PushUri + " (attempt timed out or circuit open)";
        if (response is not { } r)
        {
            return;
        }

        var classification = ResponseClassifier.Classify(r, []);
        switch (classification.Verdict)
        {
            case PushVerdict.Blocked:
                var since = _blocked?.Since ?? _time.GetUtcNow();
                _blocked = new IngestionBlock(r.Status, classification.Reason ?? "", classification.BlockedUntil, since);
                LogPersistEventSource.Log.PushBlocked(_client.PushUri.ToString(), r.Status, classification.Reason ?? "", (_time.GetUtcNow() + delay).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case PushVerdict.Misconfigured:
                LastError = $"{classification.Reason} (from {_client.PushUri})";
                Refusals.Refused(r.Status);
                LogPersistEventSource.Log.PushMisconfigured(_client.PushUri.ToString(), r.Status, classification.Reason ?? "");
                break;
        }
    }

    /// <summary>A push stored entries of <paramref name="part"/>: retries, blocks and refusal streaks end, and its streams are no longer refused.</summary>
    private void Accepted(List<PushStream> part, IReadOnlyList<StreamRejection>? except = null)
    {
        Refusals.Accepted();
        LastRetryReason = null;
        _blocked = null;
        if (_rejectedStreams.IsEmpty)
        {
            return;
        }

        foreach (var stream in part)
        {
            if (except is null || !except.Any(r => r.Labels == stream.Labels.Text))
            {
                _rejectedStreams.TryRemove(stream.Labels.Text, out _);
            }
        }
    }

    private static int CountMarkers(List<PushStream> part)
    {
        var markers = 0;
        foreach (var stream in part)
        {
            foreach (var entry in stream.Entries)
            {
                markers += entry.Marker ? 1 : 0;
            }
        }

        return markers;
    }

    /// <summary>Reads a batch's WAL range again and builds its entries with the current settings.</summary>
    private Batch Rebuild(Batch batch)
    {
        using var reader = _wal.CreateReader(batch.Start);
        using var builder = new BatchBuilder(_options, _streams) { SendMetadata = _sendMetadata };
        while (reader.Position < batch.End && reader.TryRead(out var record))
        {
            builder.Add(record);
        }

        return builder.Seal(batch.Start, batch.End);
    }

    /// <summary>
    /// Counts refused entries and marks them in the stream. Refusals that may all have been markers
    /// (no more than the part held) are counted but not marked again: while Loki refuses everything, a
    /// marker of a refused marker would be refused in turn, one request and one record a second, forever.
    /// </summary>
    private void ReportRefused(int[] byReason, string? lastReason, int markersInPart)
    {
        Metrics.RefusedEntries(byReason);
        if (lastReason is not null)
        {
            LastRefusalReason = lastReason;
        }

        var total = byReason.Sum();
        LogPersistEventSource.Log.EntriesRefused(_client.PushUri.ToString(), total, string.Join(",", byReason), lastReason ?? "");
        if (total > markersInPart)
        {
            AppendMarker(Markers.Refused(LogEntry.NowNs(_time), byReason, lastReason));
        }
    }

    private void ReportUndecodable(WalPosition position)
    {
        Metrics.UndecodableRecord();
        LogPersistEventSource.Log.UndecodableRecord(_wal.Directory, position.ToString());
        AppendMarker(Markers.Undecodable(LogEntry.NowNs(_time), position));
    }

    private void AppendMarker(LogEntry marker)
    {
        lock (_markerEncoder)
        {
            _wal.Append(_markerEncoder.Encode(marker));
        }
    }

    /// <summary>
    /// Whether this WAL's entries carry structured metadata, in <see cref="StructuredMetadataMode.Auto"/>:
    /// the decision saved with the WAL when there is one (a resend after a restart must carry exactly the
    /// metadata of the first send: Loki 3.7+ compares it when dropping duplicates), else Loki's buildinfo,
    /// asked again with backoff while nothing answers (a transport fault, a timeout, 429 or 5xx). Null when
    /// <paramref name="attempts"/> went unanswered.
    /// </summary>
    private async Task<bool?> DecideMetadataAsync(int attempts, CancellationToken stop)
    {
        if (StreamDescription.TryLoad(_wal.FileSystem, _wal.Directory, out var saved, out _) && saved.MetadataDecision is { } decided)
        {
            return decided;
        }

        var delay = _options.Loki.RetryBaseDelay;
        for (var attempt = 1; ; attempt++)
        {
            BuildInfo info;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                timeout.CancelAfter(_options.Loki.AttemptTimeout);
                info = await _client.GetBuildInfoAsync(timeout.Token).ConfigureAwait(false);
            }

            if (info.Answered)
            {
                return info.Major >= 3;
            }

            LastRetryReason = $"no answer from {LokiClient.BuildInfoUri(_client.PushUri)} ({info.Problem ?? "no answer"})";
            if (attempt >= attempts)
            {
                return null;
            }

            LogPersistEventSource.Log.BuildInfoUnanswered(_wal.Directory, LokiClient.BuildInfoUri(_client.PushUri).ToString(), info.Problem ?? "no answer", delay.TotalMilliseconds);
            await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            delay = delay * 2 < _options.Loki.RetryMaxDelay ? delay * 2 : _options.Loki.RetryMaxDelay;
        }
    }

    /// <summary>Asks buildinfo at the longest retry delay until it answers, then applies (and saves) the decision for the batches built after it.</summary>
    private async Task AskUntilAnsweredAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(_options.Loki.RetryMaxDelay, _time, stop).ConfigureAwait(false);
                if (await DecideMetadataAsync(attempts: 1, stop).ConfigureAwait(false) is { } decided)
                {
                    // A refusal of metadata meanwhile is the server's own answer and wins.
                    if (!_metadataRefused)
                    {
                        _sendMetadata = decided;
                        SaveMetadataDecision(decided);
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void SaveMetadataDecision(bool send)
    {
        if (_options.StructuredMetadata == StructuredMetadataMode.Auto)
        {
            StreamDescription.SaveMetadataDecision(_wal.FileSystem, _wal.Directory, send);
        }
    }

    /// <summary>Age in seconds of the oldest entry read and not yet acknowledged; 0 when there is none.</summary>
    public double LagSeconds()
    {
        var oldest = Math.Min(_acks.OldestPendingTimestampNs, Volatile.Read(ref _builderOldest));
        return oldest == long.MaxValue ? 0 : Math.Max(0, (LogEntry.NowNs(_time) - oldest) / 1e9);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(DefaultStopTimeout).ConfigureAwait(false);
        DisposeResources();
    }

    public void Dispose()
    {
        StopAsync(DefaultStopTimeout).GetAwaiter().GetResult();
        DisposeResources();
    }

    private void DisposeResources()
    {
        // In-flight sends that outlived the deadline still hold the client; they end on their cancelled token.
        if (_sending.IsEmpty)
        {
            _client.Dispose();
        }

        Metrics.Dispose();
    }
}

/// <summary>Loki answered a push with a 2xx that stores nothing (260: ingestion blocked): what it said, until when, since when.</summary>
internal sealed record IngestionBlock(int Status, string Reason, DateTimeOffset? Until, DateTimeOffset Since);
