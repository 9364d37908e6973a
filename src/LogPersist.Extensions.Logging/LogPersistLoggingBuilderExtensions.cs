using LogPersist;
using LogPersist.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Logging;

/// <summary>Adds LogPersist to a logging builder.</summary>
public static class LogPersistLoggingBuilderExtensions
{
    /// <summary>
    /// Adds the LogPersist provider, configured from the <c>Logging:LogPersist</c> section (levels and
    /// filters from <c>Logging:LogPersist:LogLevel</c>). With a host, shipping is flushed when the
    /// application stops; without one, dispose the logger factory to flush.
    /// </summary>
    /// <param name="builder">The logging builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILoggingBuilder AddLogPersist(this ILoggingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddConfiguration();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, LogPersistLoggerProvider>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LogPersistOptions>, LogPersistOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LogPersistHostedService>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LogPersistOptions>, LogPersistConfigureOptions>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<LogPersistOptions>, LoggerProviderOptionsChangeTokenSource<LogPersistOptions, LogPersistLoggerProvider>>());
        return builder;
    }

    /// <summary>Adds the LogPersist provider as <see cref="AddLogPersist(ILoggingBuilder)"/> does, then applies <paramref name="configure"/> over the configuration.</summary>
    /// <param name="builder">The logging builder.</param>
    /// <param name="configure">Changes to the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILoggingBuilder AddLogPersist(this ILoggingBuilder builder, Action<LogPersistOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddLogPersist();
        builder.Services.Configure(configure);
        return builder;
    }
}
