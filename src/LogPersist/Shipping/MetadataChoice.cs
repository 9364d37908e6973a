using System.IO.Abstractions;
using LogPersist.Diagnostics;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Whether a WAL's entries carry structured metadata (trace and span id) or fold it into their lines.
/// <see cref="StructuredMetadataMode.On"/> and <see cref="StructuredMetadataMode.Off"/> say it; in
/// <see cref="StructuredMetadataMode.Auto"/> the decision saved with the WAL wins (a resend after a restart must
/// carry exactly the metadata of its first send: Loki 3.7+ compares it when dropping duplicates), else Loki's
/// buildinfo is asked, again with backoff while nothing answers. After <see cref="BuildInfoAttempts"/>
/// unanswered tries, entries go with metadata in their lines (always accepted) while a background task keeps
/// asking. A server that refuses metadata has the last word.
/// </summary>
internal sealed class MetadataChoice(ShipperOptions options, LokiClient client, IFileSystem fileSystem, string directory, Action<string> unanswered)
{
    /// <summary>Unanswered buildinfo requests (transport faults, 408, 429, 5xx) before shipping starts with metadata in the lines.</summary>
    public const int BuildInfoAttempts = 4;

    private volatile bool _send = options.StructuredMetadata == StructuredMetadataMode.On;
    private volatile bool _refused;

    /// <summary>Whether entries built now carry structured metadata.</summary>
    public bool Send => _send;

    /// <summary>
    /// Decides before shipping starts. Returns the background work that keeps asking when Loki did not answer
    /// (its owner waits for it at stop), or null when decided.
    /// </summary>
    public async Task<Task?> DecideAsync(CancellationToken stop)
    {
        if (options.StructuredMetadata != StructuredMetadataMode.Auto)
        {
            return null;
        }

        if (await AskAsync(BuildInfoAttempts, stop).ConfigureAwait(false) is { } decided)
        {
            Apply(decided);
            return null;
        }

        return Task.Run(() => KeepAskingAsync(stop), CancellationToken.None);
    }

    /// <summary>Loki refused metadata: lines carry it from now on, for good, and the WAL remembers.</summary>
    public void Refused()
    {
        _refused = true;
        _send = false;
        Save(false);
    }

    private async Task KeepAskingAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(options.Loki.RetryMaxDelay, options.TimeProvider, stop).ConfigureAwait(false);
                if (await AskAsync(attempts: 1, stop).ConfigureAwait(false) is { } decided)
                {
                    // A refusal of metadata meanwhile is the server's own answer and wins.
                    if (!_refused)
                    {
                        Apply(decided);
                    }

                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>The saved decision, else buildinfo's answer; null when <paramref name="attempts"/> went unanswered.</summary>
    private async Task<bool?> AskAsync(int attempts, CancellationToken stop)
    {
        if (StreamDescription.TryLoad(fileSystem, directory, out var saved, out _) && saved.MetadataDecision is { } decided)
        {
            return decided;
        }

        var uri = LokiClient.BuildInfoUri(client.PushUri);
        var delay = options.Loki.RetryBaseDelay;
        for (var attempt = 1; ; attempt++)
        {
            BuildInfo info;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                timeout.CancelAfter(options.Loki.AttemptTimeout);
                info = await client.GetBuildInfoAsync(timeout.Token).ConfigureAwait(false);
            }

            if (info.Answered)
            {
                return info.Major >= 3;
            }

            unanswered($"no answer from {uri} ({info.Problem ?? "no answer"})");
            if (attempt >= attempts)
            {
                return null;
            }

            LogPersistEventSource.Log.BuildInfoUnanswered(directory, uri.ToString(), info.Problem ?? "no answer", delay.TotalMilliseconds);
            await Task.Delay(delay, options.TimeProvider, stop).ConfigureAwait(false);
            delay = delay * 2 < options.Loki.RetryMaxDelay ? delay * 2 : options.Loki.RetryMaxDelay;
        }
    }

    private void Apply(bool send)
    {
        _send = send;
        Save(send);
    }

    private void Save(bool send)
    {
        if (options.StructuredMetadata == StructuredMetadataMode.Auto)
        {
            StreamDescription.SaveMetadataDecision(fileSystem, directory, send);
        }
    }
}
