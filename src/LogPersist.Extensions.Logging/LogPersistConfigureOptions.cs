using Microsoft.Extensions.Logging.Configuration;
using LogPersist.Binding;
using Microsoft.Extensions.Options;

namespace LogPersist.Extensions.Logging;

/// <summary>
/// Applies the provider's configuration section (<c>Logging:LogPersist</c>, or the provider's full
/// type name) to <see cref="LogPersistOptions"/>. The section is a live view: after a configuration
/// reload, <see cref="IOptionsMonitor{TOptions}"/> binds it again.
/// </summary>
internal sealed class LogPersistConfigureOptions(ILoggerProviderConfiguration<LogPersistLoggerProvider> providerConfiguration)
    : IConfigureOptions<LogPersistOptions>
{
    // The provider's section merges the alias and the full type name into a root of its own, which has
    // no path: errors name the keys as they are written under the logging section.
    public void Configure(LogPersistOptions options) => LogPersistOptionsBinder.Bind(providerConfiguration.Configuration, options, "LogPersist");
}
