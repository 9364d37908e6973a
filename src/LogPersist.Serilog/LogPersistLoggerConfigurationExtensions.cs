using System.Diagnostics.CodeAnalysis;
using LogPersist;
using LogPersist.Pipeline;
using LogPersist.Serilog;
using Microsoft.Extensions.Configuration;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Serilog;

/// <summary>Adds <c>WriteTo.LogPersist()</c>: a durable sink that ships to Grafana Loki.</summary>
[SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters",
    Justification = "Serilog sinks take their settings as optional arguments; one overload needs a configure delegate where the other takes a directory, so a call binds to one of them or fails to compile, never silently to the other.")]
public static class LogPersistLoggerConfigurationExtensions
{
    /// <summary>
    /// Writes events to a crash-safe write-ahead log before the log call returns, and ships them to
    /// Grafana Loki in the background. The parameters are the common settings of
    /// <see cref="LogPersistOptions"/>, so this method can be configured from <c>Serilog.Settings.Configuration</c>
    /// (<c>"WriteTo": [{ "Name": "LogPersist", "Args": { "lokiUrl": "http://loki:3100" } }]</c>); every
    /// parameter left out keeps the default documented on <see cref="LogPersistOptions"/>. For the other
    /// settings use the overload taking an <see cref="Action{T}"/>; for settings that change while the
    /// application runs, the overload taking an <see cref="IConfigurationSection"/>.
    /// </summary>
    /// <param name="sinkConfiguration">Logger sink configuration.</param>
    /// <param name="directory">The root directory of write-ahead logs (<see cref="LogPersistOptions.Directory"/>); relative paths are taken from the current directory.</param>
    /// <param name="serviceName">The <c>service_name</c> label (<see cref="LogPersistOptions.ServiceName"/>).</param>
    /// <param name="instance">The <c>pod</c> label and last level of the WAL directory (<see cref="LogPersistOptions.Instance"/>).</param>
    /// <param name="lokiUrl">Loki's base or push URL (<see cref="LogPersistOptions.LokiUrl"/>). Null reads <c>LOKI_URL</c>; an empty string keeps entries in the WAL only.</param>
    /// <param name="tenant">The tenant sent as <c>X-Scope-OrgID</c> (<see cref="LogPersistOptions.Tenant"/>).</param>
    /// <param name="username">User name for basic authentication.</param>
    /// <param name="password">Password for basic authentication.</param>
    /// <param name="bearerToken">A bearer token sent as <c>Authorization: Bearer</c>.</param>
    /// <param name="bearerTokenFile">A file holding the bearer token, read again when it changes.</param>
    /// <param name="labels">Stream labels added to or replacing the detected ones; an empty value removes a label.</param>
    /// <param name="labelProperties">Properties whose scalar values become labels (<see cref="LogPersistOptions.LabelProperties"/>).</param>
    /// <param name="lineFormat">How an entry becomes the line Loki stores (<see cref="LogPersistOptions.LineFormat"/>).</param>
    /// <param name="durability">How far an entry has travelled when the log call returns (<see cref="LogPersistOptions.Durability"/>).</param>
    /// <param name="maxDiskBytes">Cap on the WAL's disk use (<see cref="LogPersistOptions.MaxDiskBytes"/>).</param>
    /// <param name="fullMode">What happens when the WAL is full (<see cref="LogPersistOptions.FullMode"/>).</param>
    /// <param name="flushTimeout">How long disposing the logger waits for Loki (<see cref="LogPersistOptions.FlushTimeout"/>).</param>
    /// <param name="adoptOrphans">Also ship, then delete, the WALs that gone instances of the same service left on a shared volume (<see cref="LogPersistOptions.AdoptOrphans"/>).</param>
    /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink; ignored when <paramref name="levelSwitch"/> is given.</param>
    /// <param name="levelSwitch">A switch allowing the pass-through minimum level to be changed at runtime.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">The settings are invalid; the message lists every problem.</exception>
    /// <exception cref="InvalidOperationException">The WAL directory cannot be created or written; the message names it.</exception>
    /// <exception cref="WalLockedException">Another process writes the same WAL directory.</exception>
    public static LoggerConfiguration LogPersist(
        this LoggerSinkConfiguration sinkConfiguration,
        string? directory = null,
        string? serviceName = null,
        string? instance = null,
        string? lokiUrl = null,
        string? tenant = null,
        string? username = null,
        string? password = null,
        string? bearerToken = null,
        string? bearerTokenFile = null,
        IDictionary<string, string>? labels = null,
        string[]? labelProperties = null,
        LineFormat? lineFormat = null,
        WalDurability? durability = null,
        long? maxDiskBytes = null,
        WalFullMode? fullMode = null,
        TimeSpan? flushTimeout = null,
        bool adoptOrphans = false,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null) =>
        sinkConfiguration.LogPersist(
            options =>
            {
                options.Directory = directory;
                options.ServiceName = serviceName;
                options.Instance = instance;
                options.LokiUrl = lokiUrl;
                options.Tenant = tenant;
                options.Username = username;
                options.Password = password;
                options.BearerToken = bearerToken;
                options.BearerTokenFile = bearerTokenFile;
                foreach (var (name, value) in labels ?? new Dictionary<string, string>())
                {
                    options.Labels[name] = value;
                }

                options.LabelProperties.AddRange(labelProperties ?? []);
                options.LineFormat = lineFormat ?? options.LineFormat;
                options.Durability = durability ?? options.Durability;
                options.MaxDiskBytes = maxDiskBytes ?? options.MaxDiskBytes;
                options.FullMode = fullMode ?? options.FullMode;
                options.FlushTimeout = flushTimeout ?? options.FlushTimeout;
                options.AdoptOrphans = adoptOrphans;
            },
            restrictedToMinimumLevel,
            levelSwitch);

    /// <summary>
    /// Writes events to a crash-safe write-ahead log before the log call returns, and ships them to
    /// Grafana Loki in the background, with every setting of <see cref="LogPersistOptions"/> available.
    /// The WAL directory is opened and locked here, so a directory that cannot be written fails now
    /// rather than at the first event. Disposing the logger (<c>Log.CloseAndFlush()</c>) waits up to
    /// <see cref="LogPersistOptions.FlushTimeout"/> for Loki; what is not shipped by then stays in the
    /// WAL for the next start.
    /// </summary>
    /// <param name="sinkConfiguration">Logger sink configuration.</param>
    /// <param name="configure">Sets the options; each starts at the default documented on <see cref="LogPersistOptions"/>.</param>
    /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink; ignored when <paramref name="levelSwitch"/> is given.</param>
    /// <param name="levelSwitch">A switch allowing the pass-through minimum level to be changed at runtime.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="ArgumentException">The settings are invalid; the message lists every problem.</exception>
    /// <exception cref="InvalidOperationException">The WAL directory cannot be created or written; the message names it.</exception>
    /// <exception cref="WalLockedException">Another process writes the same WAL directory.</exception>
    public static LoggerConfiguration LogPersist(
        this LoggerSinkConfiguration sinkConfiguration,
        Action<LogPersistOptions> configure,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null)
    {
        ArgumentNullException.ThrowIfNull(sinkConfiguration);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new LogPersistOptions();
        configure(options);
        var sink = new LogPersistSink(LogPipeline.Open(options));
        return sinkConfiguration.Sink(sink, restrictedToMinimumLevel, levelSwitch);
    }

    /// <summary>
    /// Writes events to a crash-safe write-ahead log before the log call returns, and ships them to
    /// Grafana Loki in the background, with the settings of <see cref="LogPersistOptions"/> read from a
    /// configuration section (keys named as the properties, e.g. <c>LokiUrl</c>, <c>MinimumLevel</c>,
    /// <c>Labels:team</c>) and then <paramref name="configure"/>. The section is followed: after each
    /// configuration reload its settings are read again the same way and applied without a restart and
    /// without losing or sending twice an entry. Settings fixed by the open WAL (<c>Directory</c>,
    /// <c>ServiceName</c>, <c>Instance</c>, <c>SegmentBytes</c>, <c>MaxEntryBytes</c>,
    /// <c>AllowGroupWritableDirectories</c>, <c>StructuredMetadata</c>, <c>AdoptOrphans</c>) keep their
    /// running value and are reported once, and the health check turns Degraded until a restart. A reload
    /// whose values are invalid or do not convert changes nothing: every problem is reported in one
    /// <c>LogPersist</c> EventSource event, and the running settings stay. From
    /// <c>Serilog.Settings.Configuration</c> JSON, the section is the object given as the
    /// <c>configuration</c> argument: <c>"Args": { "configuration": { "LokiUrl": "http://loki:3100" } }</c>.
    /// </summary>
    /// <param name="sinkConfiguration">Logger sink configuration.</param>
    /// <param name="configuration">The section holding the settings, e.g. <c>builder.Configuration.GetSection("LogPersist")</c>; its reloads are followed until the logger is disposed.</param>
    /// <param name="configure">Sets what a section cannot hold, or overrides it; called after each binding, at start and on every reload.</param>
    /// <param name="restrictedToMinimumLevel">The minimum level of events passed to the sink; ignored when <paramref name="levelSwitch"/> is given.</param>
    /// <param name="levelSwitch">A switch allowing the pass-through minimum level to be changed at runtime.</param>
    /// <returns>Configuration object allowing method chaining.</returns>
    /// <exception cref="InvalidOperationException">A value in the section does not convert to its option's type (the message names every one), or the WAL directory cannot be created or written.</exception>
    /// <exception cref="ArgumentException">The settings are invalid; the message lists every problem.</exception>
    /// <exception cref="WalLockedException">Another process writes the same WAL directory.</exception>
    public static LoggerConfiguration LogPersist(
        this LoggerSinkConfiguration sinkConfiguration,
        IConfigurationSection configuration,
        Action<LogPersistOptions>? configure = null,
        LogEventLevel restrictedToMinimumLevel = LevelAlias.Minimum,
        LoggingLevelSwitch? levelSwitch = null)
    {
        ArgumentNullException.ThrowIfNull(sinkConfiguration);
        ArgumentNullException.ThrowIfNull(configuration);
        var pipeline = LogPipeline.Open(SectionFollower.Bind(configuration, configure));
        var sink = new LogPersistSink(pipeline, SectionFollower.Start(configuration, configure, pipeline));
        return sinkConfiguration.Sink(sink, restrictedToMinimumLevel, levelSwitch);
    }
}
