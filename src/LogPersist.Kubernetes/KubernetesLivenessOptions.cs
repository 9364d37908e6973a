using k8s;

namespace LogPersist.Kubernetes;

/// <summary>
/// Settings of adoption that asks the Kubernetes API server whether a sibling's pod is gone. The pod
/// needs a service account allowed to <c>get</c>, <c>list</c> and <c>watch</c> pods in its namespace.
/// </summary>
public sealed class KubernetesLivenessOptions
{
    /// <summary>The longest one request to the API server may take before the answer counts as missing.</summary>
    internal static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A label selector (<c>app.kubernetes.io/name=orders-api</c>) for the pods that are watched: the
    /// pods whose WAL directories share this one's volume. A pod outside it is still found (by its name,
    /// one request), so a selector that is too narrow costs requests, never a live pod's WAL.
    /// </summary>
    /// <value>The default is null: every pod of the namespace.</value>
    public string? LabelSelector { get; set; }

    /// <summary>The namespace of the pods whose WAL directories share this one's volume.</summary>
    /// <value>The default is <c>POD_NAMESPACE</c>, else the service account's namespace.</value>
    public string? Namespace { get; set; }

    /// <summary>How the client reaches the API server: in-cluster (the service account's token and CA); tests point it at a fake server.</summary>
    internal Func<KubernetesClientConfiguration> Configuration { get; set; } = KubernetesClientConfiguration.InClusterConfig;

    internal TimeSpan RequestTimeout { get; set; } = DefaultRequestTimeout;

    /// <summary>The first wait after a failed list or watch; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    internal TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    internal TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the API server keeps one watch open before it ends it and the watch resumes.</summary>
    internal TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where this pod's identity (<c>POD_NAME</c>, <c>POD_UID</c>, <c>POD_NAMESPACE</c>) is read from.</summary>
    internal Func<string, string?> Environment { get; set; } = System.Environment.GetEnvironmentVariable;

    internal KubernetesLivenessOptions Copy() => (KubernetesLivenessOptions)MemberwiseClone();
}
