using LogPersist.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the LogPersist health check.</summary>
public static class LogPersistHealthCheckExtensions
{
    /// <summary>The name the check is registered under unless another is given.</summary>
    public const string DefaultName = "logpersist";

    /// <summary>
    /// Adds a health check of every LogPersist pipeline in the process, whether the logging provider
    /// or the Serilog sink opened it. Healthy while entries are persisted and shipped; Degraded when
    /// the ship lag or the WAL's disk use passes its threshold; Unhealthy (or
    /// <paramref name="failureStatus"/>) when the WAL cannot write, when Loki has refused every push
    /// for <see cref="LogPersistHealthCheckOptions.RefusalTimeout"/>, or when LogPersist is not running.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name in reports.</param>
    /// <param name="failureStatus">The status reported instead of Unhealthy; null keeps Unhealthy.</param>
    /// <param name="tags">Tags to filter checks by, e.g. <c>["ready"]</c>.</param>
    /// <param name="configure">Changes to the thresholds; checked when the host starts (or else when the check runs).</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddLogPersist(
        this IHealthChecksBuilder builder,
        string name = DefaultName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        Action<LogPersistHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = builder.Services.AddOptions<LogPersistHealthCheckOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // With a host, invalid thresholds stop the start; without one, the check reports them.
        options.ValidateOnStart();

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LogPersistHealthCheckOptions>, OptionsValidator>());
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new LogPersistHealthCheck(services.GetRequiredService<IOptionsMonitor<LogPersistHealthCheckOptions>>(), name),
            failureStatus,
            tags));
    }

    /// <summary>
    /// Adds the health check services and the LogPersist check under the name <c>logpersist</c>, as
    /// <c>services.AddHealthChecks().AddLogPersist(configure: configure)</c> does.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes to the thresholds.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddLogPersistHealthCheck(this IServiceCollection services, Action<LogPersistHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHealthChecks().AddLogPersist(configure: configure);
        return services;
    }

    /// <summary>Names every problem of the options in one message.</summary>
    private sealed class OptionsValidator : IValidateOptions<LogPersistHealthCheckOptions>
    {
        public ValidateOptionsResult Validate(string? name, LogPersistHealthCheckOptions options) =>
            options.Problems() is { Count: > 0 } problems
                ? ValidateOptionsResult.Fail("Invalid LogPersist health check options: " + string.Join(" ", problems))
                : ValidateOptionsResult.Success;
    }
}
