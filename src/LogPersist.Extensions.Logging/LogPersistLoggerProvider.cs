using System.Collections.Concurrent;
using LogPersist.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogPersist.Extensions.Logging;

/// <summary>
/// The <c>Microsoft.Extensions.Logging</c> provider of LogPersist: loggers that write each entry into
/// the instance's write-ahead log before the log call returns. Configured from the
/// <c>Logging:LogPersist</c> section (see <see cref="LogPersistOptions"/>); register it with
/// <c>AddLogPersist()</c> on the logging builder.
/// </summary>
[ProviderAlias("LogPersist")]
public sealed class LogPersistLoggerProvider : ILoggerProvider, ISupportExternalScope, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, LogPersistLogger> _loggers = new(StringComparer.Ordinal);
    private readonly IDisposable? _reloads;
    private IExternalScopeProvider? _scopes;

    /// <summary>
    /// Opens the write-ahead log and, when a Loki URL is configured, starts shipping. Throws when the
    /// options are invalid, the directory cannot be written (the message names it) or another process holds it.
    /// Later changes of the options (a configuration reload) apply while running: see
    /// <see cref="LogPersistOptions"/> for what needs a restart; invalid new options are reported
    /// (EventSource event 33) and the running ones stay.
    /// </summary>
    /// <param name="options">The options, usually bound from configuration.</param>
    public LogPersistLoggerProvider(IOptionsMonitor<LogPersistOptions> options)
        : this(LogPipeline.Open((options ?? throw new ArgumentNullException(nameof(options))).CurrentValue))
    {
        _reloads = options.OnChange((changed, name) =>
        {
            if (name is null || name == Options.DefaultName)
            {
                Pipeline.Reconfigure(changed);
            }
        });
    }

    internal LogPersistLoggerProvider(LogPipeline pipeline) => Pipeline = pipeline;

    internal LogPipeline Pipeline { get; }

    internal IExternalScopeProvider? Scopes => Volatile.Read(ref _scopes);

    /// <summary>The instance's WAL directory.</summary>
    public string WalDirectory => Pipeline.Directory;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName ?? "", static (name, provider) => new LogPersistLogger(name, provider), this);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => Volatile.Write(ref _scopes, scopeProvider);

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for Loki to acknowledge every entry logged before the
    /// call. Returns true when it did or when no Loki URL is configured; false leaves the rest in the
    /// WAL, shipped later. Never throws.
    /// </summary>
    /// <param name="timeout">The deadline.</param>
    /// <param name="cancellationToken">Ends the wait early (the result is then false).</param>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Pipeline.FlushAsync(timeout, cancellationToken);

    /// <summary>
    /// Ships what it can within <see cref="LogPersistOptions.FlushTimeout"/> and closes the WAL; entries
    /// not yet acknowledged are shipped after the next start. Loggers used afterwards drop (and count) their entries.
    /// </summary>
    public void Dispose()
    {
        _reloads?.Dispose();
        Pipeline.Dispose();
    }

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        _reloads?.Dispose();
        return Pipeline.DisposeAsync();
    }
}
