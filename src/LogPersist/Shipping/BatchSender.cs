using LogPersist.Diagnostics;
using LogPersist.Entries;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Sends one batch to Loki and acts on each answer, so that <see cref="Shipper"/> only reads, orders
/// and acknowledges. The retries of one request live in <see cref="PushResilience"/>; what an answer
/// means, in <see cref="ResponseClassifier"/>; this type decides what is sent next for the batch and
/// keeps the shipper's account of Loki (<see cref="LokiStanding"/>) and its metrics up to date.
/// </summary>
internal sealed class BatchSender
{
    private readonly ShipperOptions _options;
    private readonly LokiClient _client;
    private readonly PushResilience _resilience;
    private readonly ShipperMetrics _metrics;
    private readonly LokiStanding _standing;
    private readonly MetadataChoice _metadata;
    private readonly Func<Batch, Batch> _rebuild;
    private readonly Func<Batch, PushStream, int> _hold;
    private readonly StreamPacing _pacing;
    private readonly StreamShards _shards;
    private readonly Action<LogEntry> _appendMarker;
    private readonly System.Buffers.ArrayPool<byte> _bodies;

    // rebuild reads a batch's WAL range again and builds it with the current settings; appendMarker
    // appends a marker entry to the WAL, shipped like any entry. The sender knows neither the WAL nor
    // the reader: the shipper owns both.
    public BatchSender(
        ShipperOptions options,
        LokiClient client,
        ShipperMetrics metrics,
        LokiStanding standing,
        MetadataChoice metadata,
        Func<Batch, Batch> rebuild,
        Action<LogEntry> appendMarker,
        Func<Batch, PushStream, int> hold)
    {
        _options = options;
        _client = client;
        _metrics = metrics;
        _standing = standing;
        _metadata = metadata;
        _rebuild = rebuild;
        _hold = hold;
        _pacing = new StreamPacing(options.TimeProvider);
        _shards = new StreamShards(options.TimeProvider);
        _appendMarker = appendMarker;
        _resilience = new PushResilience(client, options.Loki, OnRetry);

        // Each request in flight holds a body (up to ParallelStreams per batch); one more is being encoded (raw protobuf before compression).
        _bodies = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 16 << 20, maxArraysPerBucket: (options.MaxInFlight * ParallelStreams) + 2);
    }

    /// <summary>Requests of one batch in flight at the same time, each for a different stream.</summary>
    public const int ParallelStreams = 4;

    /// <summary>The longest a batch waits for its paced streams; what would wait longer is held at the WAL's tail instead.</summary>
    public static readonly TimeSpan LongestPacingWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Sends <paramref name="batch"/> until Loki has stored or finally refused every entry in it. Each
    /// stream goes in requests of its own, up to <see cref="ParallelStreams"/> streams at a time and one
    /// request per stream at a time, in order: Loki's ingester answers a request of several streams with
    /// the result of its last stream only, so a stream refused before a stored one would be refused under
    /// a 204. Halves what is too large (or throttled over and over); splits a stream refused for its rate
    /// into shards (<see cref="StreamShards"/>) and paces what is still refused (<see cref="StreamPacing"/>);
    /// holds a stream refused for the tenant's stream limit, or paced beyond <see cref="LongestPacingWait"/>;
    /// rebuilds the range once without metadata when metadata was refused; counts and marks what was
    /// refused. Returns when the batch can be acknowledged; throws when cancelled or on a fault that is not
    /// a Loki answer (the caller sends the batch again later).
    /// </summary>
    public async Task SendAsync(Batch batch, CancellationToken token)
    {
        var work = new StreamWork();
        if (batch.Entries > 0)
        {
            work.Add(batch.Streams);
        }

        var rebuilt = false;
        var pacedUntil = _options.TimeProvider.GetTimestamp() + (long)(LongestPacingWait.TotalSeconds * _options.TimeProvider.TimestampFrequency);
        while (work.TakeRound() is { Count: > 0 } round)
        {
            var outcomes = new Outcome[round.Count];
            if (round.Count == 1)
            {
                outcomes[0] = await SendPartAsync(round[0], pacedUntil, token).ConfigureAwait(false);
            }
            else
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = ParallelStreams, CancellationToken = token };
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, round.Count),
                    parallel,
                    async (i, cancel) => outcomes[i] = await SendPartAsync(round[i], pacedUntil, cancel).ConfigureAwait(false)).ConfigureAwait(false);
            }

            List<string>? metadataRefused = null;
            for (var i = 0; i < round.Count; i++)
            {
                if (!Act(batch, round[i], outcomes[i], work, rebuilt))
                {
                    (metadataRefused ??= []).Add(round[i].Base.Text);
                }
            }

            if (metadataRefused is not null)
            {
                // Entries without metadata were stored; the others were refused. Rebuild the range with
                // metadata folded into lines, and send again the streams not yet done: their entries that
                // were stored go again identically, and Loki drops them as duplicates.
                _metadata.Refused();
                LogPersistEventSource.Log.MetadataFolded(_client.PushUri.ToString());
                rebuilt = true;
                var again = _rebuild(batch);
                batch.ReleaseWith(again);
                var resend = work.Clear();
                resend.UnionWith(metadataRefused);
                work.Add(again.Streams.Where(s => resend.Contains(s.Labels.Text)));
            }
        }
    }

    /// <summary>Sends one stream's part, after its pacing; the outcome is acted on by <see cref="Act"/>.</summary>
    private async Task<Outcome> SendPartAsync(StreamPart part, long pacedUntil, CancellationToken token)
    {
        var stream = part.Stream;
        var labels = stream.Labels.Text;
        if (!part.Pinned && labels == part.Base.Text && _shards.IsSplit(labels))
        {
            return new Outcome(stream.Entries.Count, null, OutcomeKind.Shard);
        }

        // Only a paced stream counts its bytes: the others go at once.
        if (_pacing.BytesPerSecond(labels) is { } rate)
        {
            var bytes = Batch.CountRateBytes([stream]);
            if (bytes > rate && stream.Entries.Count > 1)
            {
                // More than a second of the stream's rate: halves, so that no request is over Loki's bucket.
                return new Outcome(stream.Entries.Count, null, OutcomeKind.Halve);
            }

            var time = _options.TimeProvider;
            // A pinned part waits its turn however long: Loki may hold some of it already, and a copy appended
            // at the WAL's tail could come back split into shards, where Loki would store it a second time.
            var budget = part.Pinned ? TimeSpan.MaxValue
                : pacedUntil > time.GetTimestamp() ? time.GetElapsedTime(time.GetTimestamp(), pacedUntil) : TimeSpan.Zero;
            if (_pacing.Book(labels, bytes, budget) is not { } wait)
            {
                return new Outcome(stream.Entries.Count, null, OutcomeKind.Deferred);
            }

            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, token).ConfigureAwait(false);
            }
        }

        using var content = PushEncoder.Encode([stream], _client.Options.Encoding, _client.Options.GzipJson, _bodies);
        var response = await _resilience.SendAsync(content, token).ConfigureAwait(false);
        _metrics.Request(response.StatusClass);
        return new Outcome(content.Entries, ResponseClassifier.Classify(response, [stream]), OutcomeKind.Answered);
    }

    /// <summary>
    /// Acts on one part's outcome: counts, marks, and queues in <paramref name="work"/> what is sent next
    /// for its stream. Returns false when Loki refused the part's metadata and the batch is to be rebuilt.
    /// </summary>
    private bool Act(Batch batch, StreamPart part, Outcome outcome, StreamWork work, bool rebuilt)
    {
        var entries = outcome.Entries;
        List<PushStream> streams = [part.Stream];
        switch (outcome.Kind)
        {
            case OutcomeKind.Shard:
                foreach (var shard in StreamShards.Split(part.Stream))
                {
                    work.Then(part with { Stream = shard });
                }

                return true;
            case OutcomeKind.Halve:
                work.Next(Halves(part));
                return true;
            case OutcomeKind.Deferred:
                Hold(batch, part, "stream_rate", $"paced under Loki's per-stream rate limit for longer than {LongestPacingWait.TotalSeconds} s");
                return true;
        }

        var result = outcome.Result!;
        switch (result.Verdict)
        {
            case PushVerdict.Accepted:
                _metrics.Shipped(entries, Batch.CountLineBytes(streams));
                _standing.Stored(streams);
                break;
            case PushVerdict.Refused:
                _metrics.Shipped(Math.Max(0, entries - result.Refused), 0);
                if (result.Refused >= entries)
                {
                    _standing.AllRefused(result.RejectedStreams);
                }
                else
                {
                    _standing.Stored(streams, result.RejectedStreams);
                }

                ReportRefused(result.RefusedByReason, result.Reason, CountMarkers(streams));
                break;
            case PushVerdict.StreamHeld when ResponseClassifier.HeldStream(result.Reason ?? "") == "stream_rate":
                OverRate(part, result, work);
                break;
            case PushVerdict.StreamHeld:
                // Refused again and again for the tenant's stream limit: the entries move to the WAL's tail,
                // so that the checkpoint moves on and the other streams keep shipping; they come round later.
                Hold(batch, part, "stream_limit", result.Reason ?? "");
                break;
            case PushVerdict.TooLarge or PushVerdict.Retry when entries > 1:
                // Too large, or a 429 that kept coming (a batch over the tenant's burst never passes): halves, in order.
                work.Next(Halves(part));
                break;
            case PushVerdict.TooLarge:
                var counts = PushClassification.NoRefusals();
                counts[(int)RefusalReason.LineTooLong] = 1;
                ReportRefused(counts, "a request holding a single entry is too large for the server", CountMarkers(streams));
                break;
            case PushVerdict.MetadataRefused when !rebuilt:
                return false;
            case PushVerdict.MetadataRefused:
                // Refused again with metadata folded into the lines: nothing more can be done for these entries.
                var refused = PushClassification.NoRefusals();
                refused[(int)RefusalReason.Other] = entries;
                ReportRefused(refused, result.Reason, CountMarkers(streams));
                break;
            default:
                // SplitByStream cannot come for a request of one stream; should a retryable verdict come back, send again.
                work.Next(part);
                break;
        }

        return true;
    }

    /// <summary>
    /// A part refused for its stream's rate. The stream is split into shards from now on, when its labels
    /// have room for one more; the part itself goes to the shards only when Loki said it stored none of it
    /// (Loki drops a resend as a duplicate only in the stream that holds the first copy). What stays on its
    /// stream, and a shard refused in turn, is paced at the rate Loki named.
    /// </summary>
    private void OverRate(StreamPart part, PushClassification result, StreamWork work)
    {
        var labels = part.Stream.Labels;
        var reason = result.Reason ?? "";
        if (labels.Text == part.Base.Text && !part.Pinned && StreamShards.HasRoom(labels, _options.MaxLabelNames))
        {
            var first = !_shards.IsSplit(part.Base.Text);
            _shards.Refused(part.Base.Text);
            if (first)
            {
                LogPersistEventSource.Log.StreamOverRate(_client.PushUri.ToString(), part.Base.Text, $"split into {StreamShards.Count} streams by the label {StreamShards.LabelName}", reason);
            }

            if (result.StoredNone)
            {
                work.Next(part);
                return;
            }
        }
        else if (labels.Text != part.Base.Text)
        {
            _shards.Refused(part.Base.Text);
        }

        if (!result.StoredNone)
        {
            // Loki may have stored some of it (Loki 2's rate check takes entry by entry): it keeps its labels, and
            // goes again from the first entry refused, since those before it were stored (a resend of them could
            // be stored twice once Loki's head block moved on).
            part = part with { Stream = From(part.Stream, result.FirstRefusedNs), Pinned = true };
        }

        _pacing.Refused(labels.Text, reason);
        _metrics.Retry();
        LogPersistEventSource.Log.StreamOverRate(_client.PushUri.ToString(), labels.Text, $"paced at {_pacing.BytesPerSecond(labels.Text) ?? 0} bytes/s", reason);
        work.Next(part);
    }

    /// <summary>The entries of <paramref name="stream"/> from the first with timestamp <paramref name="firstNs"/> on; all of them when none has it.</summary>
    private static PushStream From(PushStream stream, long? firstNs)
    {
        var start = 0;
        while (firstNs is { } first && start < stream.Entries.Count && stream.Entries[start].TimestampNs != first)
        {
            start++;
        }

        if (start == 0 || start == stream.Entries.Count)
        {
            return stream;
        }

        var rest = new PushStream(stream.Labels);
        rest.Entries.AddRange(stream.Entries.Skip(start));
        return rest;
    }

    private static StreamPart[] Halves(StreamPart part)
    {
        var (first, second) = Batch.Split([part.Stream]);
        return [part with { Stream = first[0] }, part with { Stream = second[0] }];
    }

    /// <summary>
    /// Appends the part's entries again at the WAL's tail. They are found in the batch's range by the stream
    /// the batch built them into (a shard's entries, by the stream it was split from) and their timestamps.
    /// </summary>
    private void Hold(Batch batch, StreamPart part, string reason, string detail)
    {
        var asBuilt = new PushStream(part.Base);
        asBuilt.Entries.AddRange(part.Stream.Entries);
        var held = _hold(batch, asBuilt);
        _metrics.Held(held, reason);
        LogPersistEventSource.Log.StreamHeld(_client.PushUri.ToString(), part.Stream.Labels.Text, held, detail);
    }

    private enum OutcomeKind
    {
        Answered,
        Shard,
        Halve,
        Deferred,
    }

    private readonly record struct Outcome(int Entries, PushClassification? Result, OutcomeKind Kind);

    /// <summary>Called before each retry of a push.</summary>
    private void OnRetry(PushResponse? response, TimeSpan delay)
    {
        _metrics.Retry();
        _metrics.Request(response?.StatusClass ?? "transport");
        _standing.Retrying(response, delay);
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

    /// <summary>
    /// Counts refused entries and marks them in the stream. Refusals that may all have been markers
    /// (no more than the part held) are counted but not marked again: while Loki refuses everything, a
    /// marker of a refused marker would be refused in turn, one request and one record a second, forever.
    /// </summary>
    public void ReportRefused(int[] byReason, string? lastReason, int markersInPart)
    {
        _metrics.RefusedEntries(byReason);
        _standing.Refused(lastReason);

        var total = byReason.Sum();
        LogPersistEventSource.Log.EntriesRefused(_client.PushUri.ToString(), total, string.Join(",", byReason), lastReason ?? "");
        if (total > markersInPart)
        {
            _appendMarker(Markers.Refused(LogEntry.NowNs(_options.TimeProvider), byReason, ResponseClassifier.ReasonNames, lastReason));
        }
    }
}
