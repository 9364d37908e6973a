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
/// <para>
/// <see cref="Reconfigure"/> applies new settings while shipping: requests go to the new URL or with the
/// new credentials from the next attempt on (one in flight finishes where it went), the in-flight limit
/// and batching apply from the next batch, and new labels or line settings from a WAL position on: each
/// entry is sent, and resent, under the labels it was written under (see <see cref="StreamDescription"/>).
/// </para>
/// </summary>
internal sealed class Shipper : IAsyncDisposable, IDisposable
{
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(5);

    private readonly WriteAheadLog _wal;
    private readonly object _readLock = new();
    private readonly StreamEras _eras;
    private volatile ShipperOptions _options;
    private readonly TimeProvider _time;
    private readonly LokiClient _client;
    private readonly BatchSender _sender;
    private readonly StreamResolver _streams;
    private readonly AckTracker _acks;
    private readonly InFlightSlots _slots;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly ConcurrentQueue<TaskCompletionSource<WalPosition>> _flushes = new();
    private readonly ConcurrentDictionary<Task, byte> _sending = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _stopSending = new();
    private readonly EntryEncoder _markerEncoder = new(512);
    private readonly StreamOrder _order;
    private readonly LokiStanding _standing;
    private Task _loop = Task.CompletedTask;
    private readonly MetadataChoice _metadata;
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
        _standing = new LokiStanding(_client.PushUri, _time);
        _order = new StreamOrder(options.ConcurrentSpan);
        Overflow = new LabelOverflow(Metrics, _time, wal.Directory);
        _streams = new StreamResolver(options, Overflow.Record);
        _acks = new AckTracker(wal.Checkpoint, wal.Acknowledge);
        _slots = new InFlightSlots(options.MaxInFlight);
        _eras = new StreamEras(options, _streams, Overflow.Record);
        _metadata = new MetadataChoice(options, _client, wal.FileSystem, wal.Directory, _standing.Unanswered);
        _sender = new BatchSender(options, _client, Metrics, _standing, _metadata, Rebuild, AppendMarker, Hold);
    }

    public ShipperMetrics Metrics { get; }

    /// <summary>What the label cardinality caps sent to overflow.</summary>
    public LabelOverflow Overflow { get; }

    /// <summary>Since when Loki has refused every push in a way retrying cannot fix, for the health check.</summary>
    public RefusalWatch Refusals => _standing.Refusals;

    /// <summary>Why the last push attempt is being retried (status or transport error, free of credentials); null once a push is accepted again.</summary>
    public string? LastRetryReason => _standing.LastRetryReason;

    /// <summary>The last reason Loki gave for refusing entries, for diagnostics.</summary>
    public string? LastRefusalReason => _standing.LastRefusalReason;

    /// <summary>The last configuration-type failure (a redirect, authentication, an answer that is not Loki's), for diagnostics.</summary>
    public string? LastError => _standing.LastError;

    /// <summary>Set while Loki answers 260 (or another 2xx that stores nothing); null once a push is accepted.</summary>
    public IngestionBlock? Blocked => _standing.Blocked;

    /// <summary>Streams whose every entry Loki refuses because of their labels, until one of their entries is accepted again.</summary>
    public IReadOnlyCollection<StreamRejection> RejectedStreams => _standing.RejectedStreams;

    /// <summary>Whether trace and span ids are currently sent as structured metadata.</summary>
    public bool SendsStructuredMetadata => _metadata.Send;

    public WalPosition Acknowledged => _acks.Acknowledged;

    /// <summary>Batches read from the WAL and not yet acknowledged: what the shipper holds in memory.</summary>
    public int PendingBatches => _acks.Pending;

    /// <summary>
    /// Called with the description of the WAL's streams whenever a reconfiguration changed it, before any
    /// entry is sent under it: the pipeline saves it in the WAL directory, so a restart resends identically.
    /// </summary>
    public Action<StreamDescription>? StreamChanged { get; set; }

    /// <summary>
    /// Ships with <paramref name="next"/> from now on (see the type's remarks). Its labels and line
    /// settings apply to the entries appended from <paramref name="tail"/> (the WAL's append position
    /// when the settings changed) on, or from the first entry not yet read when reading is already past
    /// it. Throws, changing nothing, when a certificate file of the new settings cannot be read.
    /// </summary>
    public void Reconfigure(ShipperOptions next, WalPosition tail)
    {
        next.Validate();
        if (!_client.Options.SameConnection(next.Loki))
        {
            _client.Reconfigure(next.Loki);
        }

        _slots.Resize(next.MaxInFlight);
        _options = next;

        // Under the reading lock, the loop is between two reads: no entry from the change on has been
        // read yet, unless reading was already past the append position (then the change starts where
        // reading stands). The description is saved before the loop can send anything under it.
        lock (_readLock)
        {
            var from = tail >= _firstUnread ? tail : _firstUnread;
            if (_eras.Take(next, from, _acks.Acknowledged) is { } saved)
            {
                try
                {
                    StreamChanged?.Invoke(saved);
                }
#pragma warning disable CA1031 // Shipping goes on under the new labels; only a restart would resend under the older ones.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogPersistEventSource.Log.OperationFailed(_wal.Directory, "saving the changed stream description", e);
                }
            }
        }

        _wake.Release();
    }

    /// <summary>The position of the first record the reading loop has not taken yet; guarded by the reading lock.</summary>
    private WalPosition _firstUnread;

    /// <summary>The in-flight limit now, for tests.</summary>
    internal int SlotLimit => _slots.Limit;

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
    public Task<bool> StopAsync(TimeSpan timeout) => StopAsync(timeout, flush: true);

    /// <summary>
    /// Stops reading at once; batches already sent get until <paramref name="timeout"/> for their answer
    /// (which still counts), then sending stops too. What was not acknowledged stays in the WAL.
    /// </summary>
    public Task LeaveAsync(TimeSpan timeout) => StopAsync(timeout, flush: false);

    private async Task<bool> StopAsync(TimeSpan timeout, bool flush)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }

        var started = _time.GetTimestamp();
        var flushed = false;
        if (flush && Volatile.Read(ref _started) != 0)
        {
            flushed = await FlushCoreAsync(timeout, CancellationToken.None).ConfigureAwait(false);
        }

        await _stopReading.CancelAsync().ConfigureAwait(false);
        if (!flush)
        {
            try
            {
                var left = timeout - _time.GetElapsedTime(started);
                await Task.WhenAll(_sending.Keys).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                // Cut below: those batches are sent again by whoever ships the WAL next.
            }
        }

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
            if (await _metadata.DecideAsync(stop).ConfigureAwait(false) is { } asking)
            {
                Track(asking);
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
        var builderVersion = _eras.Version;
        var era = _eras.At(sealedEnd);
        var builder = NewBuilder(era);
        try
        {
            // Read, but of a later era than the batch being built: it opens the next batch.
            WalRecord? held = null;

            // Where reading stopped before a record of a later format: batches end there, never after it.
            var limit = _stoppedAt?.Position;
            while (!stop.IsCancellationRequested)
            {
                if (!builder.HasContent && _eras.Version != builderVersion)
                {
                    // New batching settings (or a new era) arrived: the next batch is built with them.
                    builderVersion = _eras.Version;
                    era = _eras.At(held?.Position ?? reader.Position);
                    builder.Dispose();
                    builder = NewBuilder(era);
                }

                builder.SendMetadata = _metadata.Send;
                var drained = false;
                var boundary = false;
                lock (_readLock)
                {
                    while (!builder.IsFull)
                    {
                        WalRecord record;
                        if (held is { } waiting)
                        {
                            record = waiting;
                            held = null;
                        }
                        else if (_stoppedAt is not null || !reader.TryRead(out record))
                        {
                            drained = true;
                            if (_stoppedAt is null && reader.StoppedAt is { } segment)
                            {
                                StopAt(segment);
                            }

                            break;
                        }

                        if (BatchBuilder.Newer(record) is { } newer)
                        {
                            StopAt(newer);
                            limit = newer.Position;
                            drained = true;
                            break;
                        }

                        if (_eras.NextFrom(era.From) is { } next && record.Position >= next)
                        {
                            held = record;
                            boundary = true;
                            break;
                        }

                        builder.Add(record);
                    }

                    _firstUnread = held?.Position ?? reader.Position;
                }

                var end = held is { } first ? first.Position : limit is { } at && at < reader.Position ? at : reader.Position;
                Volatile.Write(ref _builderOldest, builder.OldestTimestampNs);
                var flushing = !_flushes.IsEmpty;
                var due = builder.IsFull
                    || (builder.HasContent && (boundary || flushing || _time.GetElapsedTime(builder.StartedAt) >= _options.BatchMaxWait));
                var movedOn = !builder.HasContent && end > sealedEnd && (boundary || flushing || end.Segment > sealedEnd.Segment);
                if (due || movedOn)
                {
                    var batch = builder.Seal(sealedEnd, end);
                    batch.BuiltWith = (era.Options, era.Streams);
                    await DispatchAsync(batch, stop).ConfigureAwait(false);
                    sealedEnd = batch.End;
                    setSealedEnd(sealedEnd);
                    Volatile.Write(ref _builderOldest, long.MaxValue);
                }

                if (boundary)
                {
                    // The held record belongs to a later era: the next batch is built under it.
                    era = _eras.At(end);
                    builder.Dispose();
                    builder = NewBuilder(era);
                    continue;
                }

                if (due || movedOn)
                {
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
        finally
        {
            builder.Dispose();
        }
    }

    private BatchBuilder NewBuilder(StreamEras.Era era) => new(era.Options, era.Streams) { OnUndecodable = ReportUndecodable };

    private async Task DispatchAsync(Batch batch, CancellationToken stop)
    {
        await _slots.WaitAsync(stop).ConfigureAwait(false);
        _acks.Add(batch);
        var turn = _order.Enter(batch);
        Track(Task.Run(() => SendBatchAsync(batch, turn), CancellationToken.None));
    }

    /// <summary>Background work that stopping waits for (up to its deadline) and that holds the client until it ends.</summary>
    private void Track(Task work)
    {
        _sending.TryAdd(work, 0);
        _ = work.ContinueWith(t => _sending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
                _sender.ReportRefused(batch.RefusedBeforeSend, "entries older than the maximum entry age were not sent", markersInPart: 0);
            }

            while (true)
            {
                try
                {
                    await _sender.SendAsync(batch, token).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    // Not a Loki answer (those are handled by the sender): report it and resend the batch later, unchanged.
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
            batch.Release();

            // A batch keeps its slot until the checkpoint has passed it, not just until Loki answered: one
            // accepted early waits in memory for every batch before it, and a crash would resend it. So
            // batches held (and resent) never exceed MaxInFlight, however long an earlier one is retried.
            if (acknowledged > 0)
            {
                _slots.Return(acknowledged);
            }
        }
    }

    /// <summary>Reads a batch's WAL range again and builds its entries with the current settings.</summary>
    private Batch Rebuild(Batch batch)
    {
        using var reader = _wal.CreateReader(batch.Start);
        var (options, streams) = batch.BuiltWith ?? (_eras.At(batch.Start).Options, _eras.At(batch.Start).Streams);
        using var builder = new BatchBuilder(options, streams) { SendMetadata = _metadata.Send };
        while (reader.Position < batch.End && reader.TryRead(out var record))
        {
            builder.Add(record);
        }

        return builder.Seal(batch.Start, batch.End);
    }

    /// <summary>
    /// Appends again, at the WAL's tail, the records of <paramref name="batch"/> that became entries of
    /// <paramref name="stream"/> (the same bytes, so the same timestamps and lines), and returns how many.
    /// The batch can then be acknowledged: a crash before that leaves them twice in the WAL, and Loki drops
    /// the identical second copy. A record the WAL cannot take (cap, full disk) is counted and marked by it.
    /// </summary>
    private int Hold(Batch batch, PushStream stream)
    {
        var timestamps = stream.Entries.Select(e => e.TimestampNs).ToHashSet();
        var streams = batch.BuiltWith?.Streams ?? _eras.At(batch.Start).Streams;
        var held = 0;
        PayloadWriter? selfContained = null;
        using var reader = _wal.CreateReader(batch.Start);
        while (reader.Position < batch.End && reader.TryRead(out var record))
        {
            LabelSet labels;
            long timestamp;
            var payload = record.Payload.Span;
            if (record.Kind == RecordKind.Data && EntryView.TryDecode(payload, record.Strings, out var entry))
            {
                labels = streams.Resolve(entry);
                timestamp = entry.TimestampNs;
                if (entry.Format != EntryFormat.Version1)
                {
                    // It refers to the string table of its own segment: the copy at the tail carries its strings.
                    selfContained ??= new PayloadWriter(payload.Length + 256);
                    entry.WriteSelfContained(selfContained);
                    payload = selfContained.Written;
                }
            }
            else if (record.Kind == RecordKind.Gap && GapMarker.TryRead(record.Payload.Span, out var gap))
            {
                labels = streams.Static;
                timestamp = Markers.Dropped(gap.Records, gap.Bytes, gap.FromUnixMs, gap.ToUnixMs, gap.Reason.TagValue()).TimestampNs;
            }
            else
            {
                continue;
            }

            if (string.Equals(labels.Text, stream.Labels.Text, StringComparison.Ordinal) && timestamps.Contains(timestamp)
                && _wal.Append(record.Kind, payload))
            {
                held++;
            }
        }

        return held;
    }

    /// <summary>
    /// Set once reading met a segment or record of a later format than this version reads: nothing from
    /// its position on is read, acknowledged or deleted (health Unhealthy, event 30). Null otherwise.
    /// </summary>
    public NewerFormat? StoppedAt => _stoppedAt;

    private volatile NewerFormat? _stoppedAt;

    private void StopAt(NewerFormat newer)
    {
        if (_stoppedAt is not null)
        {
            return;
        }

        _stoppedAt = newer;
        Metrics.StoppedAtNewerFormat();
        LogPersistEventSource.Log.NewerFormatKept(_wal.Directory, newer.ToString());
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
