using LogPersist.Kubernetes;

namespace LogPersist;

/// <summary>Switches adoption to asking the Kubernetes API server whether a sibling's pod is gone.</summary>
public static class KubernetesLivenessExtensions
{
    /// <summary>
    /// With <see cref="LogPersistOptions.AdoptOrphans"/> on, a sibling's WAL directory whose owner record
    /// names a pod UID is adopted at the next scan once the API server no longer has that pod (deleted,
    /// re-created under a new UID, or ended: phase <c>Succeeded</c> or <c>Failed</c>), and never while
    /// it does, however old the record looks. Records without a pod UID, and every record while the API
    /// server cannot be reached or refuses (403, 5xx, timeouts), are judged by the lease rule as before;
    /// that fallback is reported once (EventSource) and turns the health check Degraded. Used by the
    /// Serilog sink (<c>WriteTo.LogPersist(o => o.UseKubernetesLiveness())</c>) and wherever options are
    /// built by hand; with <c>Microsoft.Extensions.Logging</c>, <c>AddKubernetesLiveness()</c> does this.
    /// </summary>
    /// <param name="options">The options to change.</param>
    /// <param name="configure">Sets the label selector or the namespace; optional.</param>
    /// <returns>The options, for chaining.</returns>
    public static LogPersistOptions UseKubernetesLiveness(this LogPersistOptions options, Action<KubernetesLivenessOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = new KubernetesLivenessOptions();
        configure?.Invoke(settings);
        return options.UseKubernetesLiveness(settings);
    }

    /// <summary>Sets a copy of <paramref name="settings"/> as the options' liveness source; a new source is made each time a pipeline opens.</summary>
    internal static LogPersistOptions UseKubernetesLiveness(this LogPersistOptions options, KubernetesLivenessOptions settings)
    {
        var copy = settings.Copy();
        options.Liveness = () => new PodLiveness(copy);
        return options;
    }
}
