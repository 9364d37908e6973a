using LogPersist;
using LogPersist.Kubernetes;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Logging;

/// <summary>Adds Kubernetes liveness to the LogPersist provider of a logging builder.</summary>
public static class KubernetesLivenessLoggingBuilderExtensions
{
    /// <summary>
    /// Makes the LogPersist provider's adoption ask the Kubernetes API server whether a sibling's pod
    /// is gone, as <see cref="KubernetesLivenessExtensions.UseKubernetesLiveness(LogPersistOptions, Action{KubernetesLivenessOptions}?)"/>
    /// describes: <c>builder.Logging.AddLogPersist().AddKubernetesLiveness()</c>. It matters only with
    /// <c>AdoptOrphans</c> on.
    /// </summary>
    /// <param name="builder">The logging builder, with LogPersist added.</param>
    /// <param name="configure">Sets the label selector or the namespace; optional.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILoggingBuilder AddKubernetesLiveness(this ILoggingBuilder builder, Action<KubernetesLivenessOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = new KubernetesLivenessOptions();
        configure?.Invoke(settings);
        builder.Services.Configure<LogPersistOptions>(options => options.UseKubernetesLiveness(settings));
        return builder;
    }
}
