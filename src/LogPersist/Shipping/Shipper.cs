using System.Collections.Concurrent;
using LogPersist.Diagnostics;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// Ships a WAL to Loki: one loop reads records from the checkpoint on (following new appends),
/// builds batches and hands each to a sender; up to <see cref="ShipperOptions.MaxInFlight"/> are in
/// flight. A batch is acknowledged when Loki accepted or finally refused every entry in it, and the
/// checkpoint only moves over the contiguous prefix of acknowledged batches, so a crash at any
/// moment resends (identically) rather than loses. Memory is bounded by the batches in flight,
/// never by the backlog.
/// </summary>
internal sealed class Shipper : IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(5);

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
    private Task _loop = Task.CompletedTask;
    private volatile bool _sendMetadata;
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
        _pipeline = new PushPipeline(_client, options.Loki, (response, _) =>
        {
            Metrics.Retry();
            Metrics.Request(response?.StatusClass ?? "transport");
            LastRetryReason = response is { Status: > 0 } answer ? $"HTTP {answer.Status} from {_client.PushUri}"
                : response?.TransportError ?? "no answer from " + _client.PushUri + " (attempt timed out or circuit open)";
            if (response is { } r && ResponseClassifier.Classify(r, 0).Verdict == PushVerdict.Misconfigured)
            {
                LastError = $"HTTP {r.Status} from {_client.PushUri}";
                Refusals.Refused(r.Status);
                LogPersistEventSource.Log.PushMisconfigured(_client.PushUri.ToString(), r.Status, r.Body.Length > 200 ? r.Body[..200] : r.Body);
            }
        });
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
                _sendMetadata = await DetectMetadataSupportAsync(stop).ConfigureAwait(false);
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
        var sending = Task.Run(() => SendBatchAsync(batch), CancellationToken.None);
        _sending.TryAdd(sending, 0);
        _ = sending.ContinueWith(t => _sending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendBatchAsync(Batch batch)
    {
        var token = _stopSending.Token;
        try
        {
            if (batch.RefusedBeforeSend.Any(c => c > 0))
            {
                ReportRefused(batch.RefusedBeforeSend, "entries older than the maximum entry age were not sent");
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

            _acks.Complete(batch);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopped: the batch stays in the WAL and is sent again, identically, after the next start.
        }
        finally
        {
            _slots.Release();
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
                result = ResponseClassifier.Classify(response, entries);
            }

            switch (result.Verdict)
            {
                case PushVerdict.Accepted:
                    Metrics.Shipped(entries, Batch.CountLineBytes(part));
                    Refusals.Accepted();
                    LastRetryReason = null;
                    break;
                case PushVerdict.Refused:
                    Metrics.Shipped(Math.Max(0, entries - result.Refused), 0);
                    if (result.Refused >= entries)
                    {
                        Refusals.Refused(400);
                    }
                    else
                    {
                        Refusals.Accepted();
                    }

                    ReportRefused(result.RefusedByReason, result.LastReason);
                    break;
                case PushVerdict.TooLarge when entries > 1:
                    var (first, second) = Batch.Split(part);
                    parts.Enqueue(first);
                    parts.Enqueue(second);
                    break;
                case PushVerdict.TooLarge:
                    var counts = new int[ResponseClassifier.ReasonNames.Length];
                    counts[(int)RefusalReason.LineTooLong] = 1;
                    ReportRefused(counts, "a request holding a single entry is too large for the server");
                    break;
                case PushVerdict.MetadataDisallowed when !rebuilt:
                    // Entries without metadata were stored; the others were refused. Rebuild the whole
                    // range with metadata folded into lines: the stored ones resend identically.
                    _sendMetadata = false;
                    LogPersistEventSource.Log.MetadataFolded(_client.PushUri.ToString());
                    rebuilt = true;
                    parts.Clear();
                    var again = Rebuild(batch);
                    if (again.Entries > 0)
                    {
                        parts.Enqueue(again.Streams);
                    }

                    break;
                case PushVerdict.MetadataDisallowed or PushVerdict.Empty:
                    // A second refusal after folding, or "empty push" for a request that held entries:
                    // nothing more can be done for these entries, so they are counted and marked.
                    var refused = new int[ResponseClassifier.ReasonNames.Length];
                    refused[(int)RefusalReason.Other] = entries;
                    ReportRefused(refused, result.LastReason ?? "the server answered that the push was empty");
                    break;
                default:
                    break;
            }
        }
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

    private void ReportRefused(int[] byReason, string? lastReason)
    {
        Metrics.RefusedEntries(byReason);
        if (lastReason is not null)
        {
            LastRefusalReason = lastReason;
        }

        var total = byReason.Sum();
        LogPersistEventSource.Log.EntriesRefused(_client.PushUri.ToString(), total, string.Join(",", byReason), lastReason ?? "");
        AppendMarker(Markers.Refused(LogEntry.NowNs(_time), byReason, lastReason));
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

    private async Task<bool> DetectMetadataSupportAsync(CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_options.Loki.AttemptTimeout);
        try
        {
            var version = await _client.GetVersionAsync(timeout.Token).ConfigureAwait(false);
            var major = version?.TrimStart('v').Split('.')[0];
            return int.TryParse(major, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number >= 3;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return false;
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
