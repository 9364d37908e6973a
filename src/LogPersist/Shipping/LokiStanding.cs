using System.Collections.Concurrent;
using System.Globalization;
using LogPersist.Diagnostics;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// What the shipper knows of Loki's last answers, for diagnostics and the health check: why it is retrying,
/// whether ingestion is blocked (260), which streams Loki refuses for their labels, the last configuration
/// error and refusal reason, and since when every push has been refused. Every answer that stores entries
/// ends a block, a refusal streak and (for its streams) a label refusal.
/// </summary>
internal sealed class LokiStanding(Uri pushUri, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, StreamRejection> _rejectedStreams = new(StringComparer.Ordinal);
    private volatile IngestionBlock? _blocked;
    private volatile string? _lastRetryReason;
    private volatile string? _lastRefusalReason;
    private volatile string? _lastError;

    /// <summary>Since when Loki has refused every push in a way retrying cannot fix.</summary>
    public RefusalWatch Refusals { get; } = new(time);

    /// <summary>Why the last push attempt is being retried (status or transport error, free of credentials); null once a push is accepted again.</summary>
    public string? LastRetryReason => _lastRetryReason;

    /// <summary>The last reason Loki gave for refusing entries.</summary>
    public string? LastRefusalReason => _lastRefusalReason;

    /// <summary>The last configuration-type failure (a redirect, authentication, an answer that is not Loki's).</summary>
    public string? LastError => _lastError;

    /// <summary>Set while Loki answers 260 (or another 2xx that stores nothing); null once a push is accepted.</summary>
    public IngestionBlock? Blocked => _blocked;

    /// <summary>Streams whose every entry Loki refuses because of their labels, until one of their entries is accepted again.</summary>
    public IReadOnlyCollection<StreamRejection> RejectedStreams => _rejectedStreams.Values.ToArray();

    /// <summary>A push is about to be retried after <paramref name="response"/> (null: no answer): records why, and reports blocks and configuration errors loudly.</summary>
    public void Retrying(PushResponse? response, TimeSpan delay)
    {
        _lastRetryReason = response is { Status: > 0 } answer ? $"HTTP {answer.Status} from {pushUri}"
            : response?.TransportError ?? "no answer from " + pushUri + " (attempt timed out or circuit open)";
        if (response is not { } r)
        {
            return;
        }

        var classification = ResponseClassifier.Classify(r, []);
        switch (classification.Verdict)
        {
            case PushVerdict.Blocked:
                _blocked = new IngestionBlock(r.Status, classification.Reason ?? "", classification.BlockedUntil, _blocked?.Since ?? time.GetUtcNow());
                LogPersistEventSource.Log.PushBlocked(pushUri.ToString(), r.Status, classification.Reason ?? "", (time.GetUtcNow() + delay).ToString("O", CultureInfo.InvariantCulture));
                break;
            case PushVerdict.Misconfigured:
                _lastError = $"{classification.Reason} (from {pushUri})";
                Refusals.Refused(r.Status);
                LogPersistEventSource.Log.PushMisconfigured(pushUri.ToString(), r.Status, classification.Reason ?? "");
                break;
        }
    }

    /// <summary>Nothing answered where an answer was needed (buildinfo): <paramref name="reason"/> is why shipping waits.</summary>
    public void Unanswered(string reason) => _lastRetryReason = reason;

    /// <summary>Loki stored entries of <paramref name="part"/>; the streams in <paramref name="rejected"/> were refused for their labels.</summary>
    public void Stored(List<PushStream> part, IReadOnlyList<StreamRejection>? rejected = null)
    {
        Refusals.Accepted();
        _lastRetryReason = null;
        _blocked = null;
        foreach (var rejection in rejected ?? [])
        {
            _rejectedStreams[rejection.Labels] = rejection;
            LogPersistEventSource.Log.StreamRefused(pushUri.ToString(), rejection.Labels, rejection.Message);
        }

        if (_rejectedStreams.IsEmpty)
        {
            return;
        }

        foreach (var stream in part)
        {
            if (rejected is null || !rejected.Any(r => r.Labels == stream.Labels.Text))
            {
                _rejectedStreams.TryRemove(stream.Labels.Text, out _);
            }
        }
    }

    /// <summary>Loki refused every entry of a push (a 400 in its own words).</summary>
    public void AllRefused(IReadOnlyList<StreamRejection> rejected)
    {
        Refusals.Refused(400);
        foreach (var rejection in rejected)
        {
            _rejectedStreams[rejection.Labels] = rejection;
            LogPersistEventSource.Log.StreamRefused(pushUri.ToString(), rejection.Labels, rejection.Message);
        }
    }

    /// <summary>Entries were refused or not sent, for <paramref name="reason"/>.</summary>
    public void Refused(string? reason)
    {
        if (reason is not null)
        {
            _lastRefusalReason = reason;
        }
    }
}

/// <summary>Loki answered a push with a 2xx that stores nothing (260: ingestion blocked): what it said, until when, since when.</summary>
internal sealed record IngestionBlock(int Status, string Reason, DateTimeOffset? Until, DateTimeOffset Since);
