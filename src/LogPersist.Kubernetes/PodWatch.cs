using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace LogPersist.Kubernetes;

/// <summary>
/// The pods of a namespace (those the label selector names), kept current by one list and then a
/// watch from the list's resource version: the API server is asked once for all of them, not once per
/// directory per scan. A watch that ends or drops resumes from the last resource version it saw; one
/// the server answers with 410 Gone (that version is too old) lists again. A list or watch that cannot
/// be made is retried with a backoff, and <see cref="Problem"/> says why meanwhile. Only ever used to
/// say a pod exists: a pod it does not hold is read by name (<see cref="PodLiveness"/>).
/// </summary>
internal sealed class PodWatch : IAsyncDisposable
{
    private readonly k8s.Kubernetes _client;
    private readonly string _namespace;
    private readonly KubernetesLivenessOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private ConcurrentDictionary<string, string> _phases = new(StringComparer.Ordinal);
    private volatile string? _problem;
    private volatile bool _listed;
    private Task _loop = Task.CompletedTask;
    private int _lists;
    private int _disposed;

    public PodWatch(k8s.Kubernetes client, string @namespace, KubernetesLivenessOptions options)
    {
        _client = client;
        _namespace = @namespace;
        _options = options;
        _time = options.TimeProvider;
    }

    /// <summary>Why the pods cannot be listed or watched now; null while they can.</summary>
    public string? Problem => _problem;

    /// <summary>Whether what it holds can be believed: listed once, and no list or watch failing since.</summary>
    public bool IsCurrent => _listed && _problem is null;

    /// <summary>The last resource version seen, from a list, an event or a bookmark; for tests.</summary>
    internal string? ResourceVersion { get; private set; }

    /// <summary>Lists made so far (the first, and one after each 410 Gone); for tests.</summary>
    internal int Lists => Volatile.Read(ref _lists);

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);

    /// <summary>The phase of the pod with <paramref name="uid"/>, or null when the watch does not hold it.</summary>
    public string? Phase(string uid) => _phases.TryGetValue(uid, out var phase) ? phase : null;

    /// <summary>A pod whose containers have all ended and will not run again.</summary>
    public static bool HasEnded(string? phase) => phase is "Succeeded" or "Failed";

    private async Task RunAsync(CancellationToken stop)
    {
        var delay = _options.RetryDelay;
        string? version = null;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var from = version ?? await ListAsync(stop).ConfigureAwait(false);
                version = from;
                var started = _time.GetTimestamp();
                version = await WatchAsync(from, stop).ConfigureAwait(false);
                delay = _options.RetryDelay;

                // A watch the server (or a proxy) ends at once is not retried in a tight loop.
                if (_time.GetElapsedTime(started) < _options.RetryDelay)
                {
                    await Task.Delay(_options.RetryDelay, _time, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Whatever the API server or the network does, the watch reports it and tries again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _problem = PodLiveness.Describe(e, version is null ? "listing pods" : "watching pods", _options.RequestTimeout);
                try
                {
                    await Task.Delay(delay, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = delay * 2 < _options.MaxRetryDelay ? delay * 2 : _options.MaxRetryDelay;
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken stop)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var request = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        var list = await _client.CoreV1.ListNamespacedPodAsync(_namespace, labelSelector: _options.LabelSelector, cancellationToken: request.Token).ConfigureAwait(false);
        var phases = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        foreach (var pod in list.Items ?? [])
        {
            if (pod.Metadata?.Uid is { } uid)
            {
                phases[uid] = pod.Status?.Phase ?? "";
            }
        }

        _phases = phases;
        Interlocked.Increment(ref _lists);
        _listed = true;
        _problem = null;
        ResourceVersion = list.Metadata?.ResourceVersion;
        return ResourceVersion ?? "";
    }

    /// <summary>
    /// Watches from <paramref name="version"/> until the server ends the watch or the connection drops;
    /// returns the version to resume from, or null when the server says it is too old (list again).
    /// The request is made on the client's own HTTP client and credentials: its generated watch call
    /// hands the stream only to a watcher the AOT flavour leaves out.
    /// </summary>
    private async Task<string?> WatchAsync(string version, CancellationToken stop)
    {
        var query = new StringBuilder("api/v1/namespaces/").Append(Uri.EscapeDataString(_namespace))
            .Append("/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=")
            .Append(((int)_options.WatchTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture))
            .Append("&resourceVersion=").Append(Uri.EscapeDataString(version));
        if (!string.IsNullOrEmpty(_options.LabelSelector))
        {
            query.Append("&labelSelector=").Append(Uri.EscapeDataString(_options.LabelSelector));
        }

        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var request = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(_client.BaseUri, query.ToString()));
        if (_client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(message, request.Token).ConfigureAwait(false);
        }

        using var response = await _client.HttpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, request.Token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpOperationException($"watching pods: HTTP {(int)response.StatusCode}") { Response = new HttpResponseMessageWrapper(response, "") };
        }

        // Connected: from here the stream runs as long as the server keeps it, stopped only by the stop.
        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        _problem = null;
        try
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(request.Token).ConfigureAwait(false));
            while (await reader.ReadLineAsync(request.Token).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0 && !Apply(line, ref version))
                {
                    return null;
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !stop.IsCancellationRequested)
        {
            // A dropped connection: resumed at once from the last version seen.
        }

        return version;
    }

    /// <summary>Applies one watch event; false when it is a 410 Gone error (list again).</summary>
    private bool Apply(string line, ref string version)
    {
        using var document = JsonDocument.Parse(line);
        var type = document.RootElement.GetProperty("type").GetString();
        var item = document.RootElement.GetProperty("object").GetRawText();
        if (type == "ERROR")
        {
            var status = KubernetesJson.Deserialize<V1Status>(item);
            if (status.Code == (int)HttpStatusCode.Gone)
            {
                return false;
            }

            throw new KubernetesException(status);
        }

        var pod = KubernetesJson.Deserialize<V1Pod>(item);
        switch (type)
        {
            case "ADDED" or "MODIFIED" when pod.Metadata?.Uid is { } uid:
                _phases[uid] = pod.Status?.Phase ?? "";
                break;
            case "DELETED" when pod.Metadata?.Uid is { } uid:
                _phases.TryRemove(uid, out _);
                break;
        }

        if (pod.Metadata?.ResourceVersion is { Length: > 0 } seen)
        {
            version = seen;
            ResourceVersion = seen;
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(_options.RequestTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Cancelled already: it ends on its own.
        }

        _stop.Dispose();
    }
}
