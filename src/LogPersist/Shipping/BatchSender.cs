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
    private readonly HeldStreams _heldStreams;
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
        _heldStreams = new HeldStreams(options.TimeProvider);
        _appendMarker = appendMarker;
        _resilience = new PushResilience(client, options.Loki, OnRetry);

        // Each request in flight holds a body; one more is being encoded (raw protobuf before compression).
        _bodies = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 16 << 20, maxArraysPerBucket: options.MaxInFlight + 2);
    }

    /// <summary>
    /// Sends <paramref name="batch"/> until Loki has stored or finally refused every entry in it: halves
    /// what is too large (or throttled over and over), sends each stream alone when one stream's labels
    /// were refused, rebuilds the range once without metadata when metadata was refused, and counts and
    /// marks what was refused. Returns when the batch can be acknowledged; throws when cancelled or on a
    /// fault that is not a Loki answer (the caller sends the batch again later).
    /// </summary>
    public async Task SendAsync(Batch batch, CancellationToken token)
    {
        var parts = new Queue<List<PushStream>>();
        if (batch.Entries > 0)
        {
            Enqueue(parts, batch.Streams);
        }

        var rebuilt = false;
        while (parts.TryDequeue(out var part))
        {
            token.ThrowIfCancellationRequested();
            PushClassification result;
            int entries;
            using (var content = PushEncoder.Encode(part, _client.Options.Encoding, _client.Options.GzipJson, _bodies))
            {
                entries = content.Entries;
                var response = await _resilience.SendAsync(content, token).ConfigureAwait(false);
                _metrics.Request(response.StatusClass);
                result = ResponseClassifier.Classify(response, part);
            }

            switch (result.Verdict)
            {
                case PushVerdict.Accepted:
                    _metrics.Shipped(entries, Batch.CountLineBytes(part));
                    _standing.Stored(part);
                    break;
                case PushVerdict.Refused:
                    _metrics.Shipped(Math.Max(0, entries - result.Refused), 0);
                    if (result.Refused >= entries)
                    {
                        _standing.AllRefused(result.RejectedStreams);
                    }
                    else
                    {
                        _standing.Stored(part, result.RejectedStreams);
                    }

                    ReportRefused(result.RefusedByReason, result.Reason, CountMarkers(part));
                    break;
                case PushVerdict.StreamHeld when part.Count > 1:
                    // The ingester stored the other streams and answered for its last one: each stream alone
                    // finds which ones it refuses (a resend of a stored one is dropped by Loki as a duplicate).
                    foreach (var stream in part)
                    {
                        parts.Enqueue([stream]);
                    }

                    break;
                case PushVerdict.StreamHeld:
                    // One stream refused, again and again: its entries move to the WAL's tail, so that the
                    // checkpoint moves on and the other streams keep shipping; they come round again later.
                    _heldStreams.Hold(part[0].Labels.Text);
                    var held = _hold(batch, part[0]);
                    _metrics.Held(held, ResponseClassifier.HeldStream(result.Reason ?? "") ?? "stream_limit");
                    LogPersistEventSource.Log.StreamHeld(_client.PushUri.ToString(), part[0].Labels.Text, held, result.Reason ?? "");
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
                    _metadata.Refused();
                    LogPersistEventSource.Log.MetadataFolded(_client.PushUri.ToString());
                    rebuilt = true;
                    parts.Clear();
                    var again = _rebuild(batch);
                    batch.ReleaseWith(again);
                    if (again.Entries > 0)
                    {
                        Enqueue(parts, again.Streams);
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

    /// <summary>
    /// Queues <paramref name="streams"/> as one request, except the streams Loki held back recently, each
    /// sent alone: Loki's ingester stores a request's streams one by one and answers for the last of them
    /// only, so a held stream among others could be refused under a 204 for the whole request.
    /// </summary>
    private void Enqueue(Queue<List<PushStream>> parts, List<PushStream> streams)
    {
        if (streams.Count > 1 && streams.Any(s => _heldStreams.IsHeld(s.Labels.Text)))
        {
            var rest = new List<PushStream>();
            foreach (var stream in streams)
            {
                if (_heldStreams.IsHeld(stream.Labels.Text))
                {
                    parts.Enqueue([stream]);
                }
                else
                {
                    rest.Add(stream);
                }
            }

            if (rest.Count > 0)
            {
                parts.Enqueue(rest);
            }

            return;
        }

        parts.Enqueue(streams);
    }

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
