using LogPersist.Binding;
using LogPersist.Diagnostics;
using LogPersist.Pipeline;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace LogPersist.Serilog;

/// <summary>
/// Binds <see cref="LogPersistOptions"/> from a configuration section and, after each reload of the
/// configuration, binds fresh options the same way and hands them to <see cref="LogPipeline.Reconfigure"/>.
/// A reload that does not bind is reported (event 33) and the running settings stay.
/// </summary>
internal sealed class SectionFollower : IDisposable
{
    private readonly IConfigurationSection _section;
    private readonly Action<LogPersistOptions>? _configure;
    private readonly LogPipeline _pipeline;
    private readonly IDisposable _registration;
    private readonly object _reloading = new();

    private SectionFollower(IConfigurationSection section, Action<LogPersistOptions>? configure, LogPipeline pipeline)
    {
        _section = section;
        _configure = configure;
        _pipeline = pipeline;
        _registration = ChangeToken.OnChange(section.GetReloadToken, Reload);
    }

    /// <summary>Options from the section, then <paramref name="configure"/>; throws <see cref="InvalidOperationException"/> naming every value that does not convert.</summary>
    public static LogPersistOptions Bind(IConfigurationSection section, Action<LogPersistOptions>? configure)
    {
        var options = new LogPersistOptions();
        LogPersistOptionsBinder.Bind(section, options);
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Starts following <paramref name="section"/> for <paramref name="pipeline"/>, until disposed.</summary>
    public static SectionFollower Start(IConfigurationSection section, Action<LogPersistOptions>? configure, LogPipeline pipeline) =>
        new(section, configure, pipeline);

    public void Dispose() => _registration.Dispose();

    private void Reload()
    {
        try
        {
            // Reloads may fire on several threads (a file watcher, a caller of Reload); binding and applying
            // as one step means the last to apply is the last to have read the section.
            lock (_reloading)
            {
                _pipeline.Reconfigure(Bind(_section, _configure));
            }
        }
#pragma warning disable CA1031 // Runs on the configuration's reload thread (a file watcher, or the caller of Reload): nothing may escape into it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogPersistEventSource.Log.SettingsRejected(_pipeline.Directory, e is InvalidOperationException ? e.Message : e.GetType().Name + ": " + e.Message);
        }
    }
}
