using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LogPersist.Extensions.Logging;

/// <summary>
/// Ties the provider to the host's lifetime: when the application starts stopping, a flush with the
/// configured deadline begins; the host's stop waits for it. The provider's disposal afterwards ships
/// what was logged during shutdown, again within the deadline.
/// </summary>
internal sealed class LogPersistHostedService : IHostedService
{
    private readonly LogPersistLoggerProvider? _provider;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly TimeSpan _timeout;
    private CancellationTokenRegistration _stopping;
    private Task<bool>? _flush;

    public LogPersistHostedService(IEnumerable<ILoggerProvider> providers, Microsoft.Extensions.Options.IOptions<LogPersistOptions> options, IHostApplicationLifetime? lifetime = null)
    {
        _provider = providers.OfType<LogPersistLoggerProvider>().FirstOrDefault();
        _lifetime = lifetime;
        _timeout = options.Value.FlushTimeout;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_provider is not null && _lifetime is not null)
        {
            _stopping = _lifetime.ApplicationStopping.Register(() => _flush ??= _provider.FlushAsync(_timeout));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.DisposeAsync().ConfigureAwait(false);
        if (_provider is not null)
        {
            _flush ??= _provider.FlushAsync(_timeout, cancellationToken);
            await _flush.ConfigureAwait(false);
        }
    }
}
