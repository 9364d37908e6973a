using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using LogPersist.Adoption;

namespace LogPersist.Kubernetes;

/// <summary>
/// Tells whether the pod an owner record names still exists, as the API server says. A pod the watch
/// holds (<see cref="PodWatch"/>) exists; any other is read by its name, one request: not found, found
/// under another UID (a StatefulSet pod re-created), or ended (phase <c>Succeeded</c> or <c>Failed</c>:
/// an evicted pod stays listed so) means gone, and a UID found gone is remembered, since UIDs are never
/// reused. Before answering at all it finds this pod itself by name and UID, so that a wrong namespace
/// or API server, where every pod would read as not found, is never taken for gone pods.
/// </summary>
internal sealed class PodLiveness : IHolderLiveness
{
    private const int MaxRemembered = 10_000;

    private readonly KubernetesLivenessOptions _options;
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal);
    private k8s.Kubernetes? _client;
    private PodWatch? _watch;
    private string _namespace = "";
    private string? _startProblem = "not started";
    private bool _selfFound;
    private int _disposed;

    public PodLiveness(KubernetesLivenessOptions options) => _options = options;

    public string Name { get; private set; } = "the Kubernetes API";

    /// <summary>The pods the watch holds now; for tests.</summary>
    internal PodWatch? Watch => _watch;

    public void Start()
    {
        try
        {
            var configuration = _options.Configuration();
            Name = "the Kubernetes API at " + configuration.Host;
            _namespace = _options.Namespace ?? _options.Environment("POD_NAMESPACE") ?? configuration.Namespace ?? "default";
            _client = new k8s.Kubernetes(configuration);
            _watch = new PodWatch(_client, _namespace, _options);
            _watch.Start();
            _startProblem = null;
        }
#pragma warning disable CA1031 // Not in a cluster, or no readable service account: reported through every answer, never thrown at the application.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _startProblem = "no in-cluster configuration (" + e.GetType().Name + ": " + e.Message + ")";
        }
    }

    public async ValueTask<LivenessAnswer> CheckAsync(HolderIdentity holder, CancellationToken cancellationToken)
    {
        if (_client is null || _watch is null)
        {
            return LivenessAnswer.Unavailable(_startProblem ?? "not started");
        }

        if (!_selfFound && await FindSelfAsync(cancellationToken).ConfigureAwait(false) is { } selfProblem)
        {
            return LivenessAnswer.Unavailable(selfProblem);
        }

        lock (_gone)
        {
            if (_gone.Contains(holder.PodUid))
            {
                return new LivenessAnswer(HolderVerdict.Gone, _watch.Problem);
            }
        }

        if (_watch.IsCurrent && _watch.Phase(holder.PodUid) is { } phase && !PodWatch.HasEnded(phase))
        {
            return new LivenessAnswer(HolderVerdict.Exists);
        }

        var (verdict, problem) = await ReadAsync(holder, cancellationToken).ConfigureAwait(false);
        if (verdict == HolderVerdict.Gone)
        {
            lock (_gone)
            {
                if (_gone.Count >= MaxRemembered)
                {
                    _gone.Clear();
                }

                _gone.Add(holder.PodUid);
            }
        }

        return new LivenessAnswer(verdict, problem ?? _watch.Problem);
    }

    /// <summary>Reads the pod by name: whether it is the record's pod, and still runs.</summary>
    private async Task<(HolderVerdict Verdict, string? Problem)> ReadAsync(HolderIdentity holder, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _options.TimeProvider);
        using var request = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var pod = await _client!.CoreV1.ReadNamespacedPodAsync(holder.Pod, _namespace, cancellationToken: request.Token).ConfigureAwait(false);
            return pod.Metadata?.Uid == holder.PodUid && !PodWatch.HasEnded(pod.Status?.Phase)
                ? (HolderVerdict.Exists, null)
                : (HolderVerdict.Gone, null);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return (HolderVerdict.Gone, null);
        }
#pragma warning disable CA1031 // Whatever the request meets (refusal, timeout, a body that is not a pod) is an answer that could not be had.
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            return (HolderVerdict.Unknown, Describe(e, "reading pod " + holder.Pod, _options.RequestTimeout));
        }
    }

    /// <summary>Finds this pod by its name and UID in the namespace; what is wrong when it cannot.</summary>
    private async Task<string?> FindSelfAsync(CancellationToken cancellationToken)
    {
        if (_options.Environment("POD_NAME") is not { Length: > 0 } name || _options.Environment("POD_UID") is not { Length: > 0 } uid)
        {
            return "POD_NAME and POD_UID are not set (downward API): without them the namespace cannot be checked";
        }

        var (verdict, problem) = await ReadAsync(new HolderIdentity(name, uid, null), cancellationToken).ConfigureAwait(false);
        switch (verdict)
        {
            case HolderVerdict.Exists:
                _selfFound = true;
                return null;
            case HolderVerdict.Gone:
                return $"this pod ({name}, UID {uid}) is not found in namespace {_namespace}: the namespace or the API server is not this pod's";
            default:
                return problem;
        }
    }

    /// <summary>A short account of a failed request, for the event and the health check.</summary>
    internal static string Describe(Exception error, string what, TimeSpan timeout) => error switch
    {
        HttpOperationException e => string.Create(CultureInfo.InvariantCulture, $"{what}: HTTP {(int)e.Response.StatusCode} {e.Response.ReasonPhrase}"),
        OperationCanceledException or TimeoutException => string.Create(CultureInfo.InvariantCulture, $"{what}: no answer within {timeout.TotalSeconds:0.#} s"),
        _ => $"{what}: {error.GetType().Name}: {error.Message}",
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_watch is { } watch)
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }

        _client?.Dispose();
    }
}
