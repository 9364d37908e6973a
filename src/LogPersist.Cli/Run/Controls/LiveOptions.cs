using System.Text;
using System.Text.Json;
using LogPersist.Binding;
using LogPersist.Pipeline;
using Microsoft.Extensions.Configuration;

namespace LogPersist.Cli.Run.Controls;

/// <summary>
/// The <see cref="LogPersistOptions"/> of a run, built afresh for its start and for every reload of
/// <c>--config</c>: the command line's options, then the file's <c>logPersist</c> object over them.
/// The file's keys win, since the file is the live source and a flag only the start value. A build is
/// checked whole and names every problem at once: a value that does not convert, a value the SDK refuses.
/// </summary>
internal sealed class LiveOptions
{
    /// <summary>The property of the <c>--config</c> file that holds LogPersist's own settings.</summary>
    public const string Key = "logPersist";

    private static readonly HashSet<string> Settings = new(typeof(LogPersistOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name), StringComparer.OrdinalIgnoreCase);

    private readonly Func<TextWriter, LogPersistOptions> _fromCommandLine;
    private LogPersistOptions? _started;
    private LogPipeline? _pipeline;

    /// <param name="fromCommandLine">Builds the command line's options; its warnings go to the writer it is given.</param>
    public LiveOptions(Func<TextWriter, LogPersistOptions> fromCommandLine) => _fromCommandLine = fromCommandLine;

    /// <summary>The settings that changed in the file but wait for a restart ("restart to apply Directory"), or null.</summary>
    public string? RestartNeeded => _pipeline?.RestartNeeded;

    /// <summary>
    /// The <c>logPersist</c> object of a <c>--config</c> file as configuration, bound by the same rules as
    /// the <c>Logging:LogPersist</c> section of appsettings.json; null, with the problems added, when it is not one.
    /// </summary>
    public static IConfiguration? Section(JsonElement element, List<string> problems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"'{Key}' must be an object of LogPersist settings");
            return null;
        }

        var unknown = element.EnumerateObject().Where(p => !Settings.Contains(p.Name)).Select(p => $"'{Key}:{p.Name}' is not a LogPersist setting").ToList();
        if (unknown.Count > 0)
        {
            problems.AddRange(unknown);
            return null;
        }

        try
        {
            using var json = new MemoryStream(Encoding.UTF8.GetBytes(element.GetRawText()));
            return new ConfigurationBuilder().AddJsonStream(json).Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or JsonException)
        {
            problems.Add($"'{Key}': {e.Message}");
            return null;
        }
    }

    /// <summary>The options to open the pipeline with; throws <see cref="UsageException"/> naming every problem.</summary>
    public LogPersistOptions Start(IConfiguration? section, string? path, TextWriter warnings)
    {
        var problems = new List<string>();
        var options = Build(section, warnings, problems);
        if (options is null)
        {
            throw new UsageException(path is null ? string.Join(" ", problems) : $"logpersist run: --config '{path}': {string.Join("; ", problems)}");
        }

        _started = options;
        return options;
    }

    /// <summary>Follows <paramref name="pipeline"/>, opened with the options of <see cref="Start"/>, through reloads.</summary>
    public void Attach(LogPipeline pipeline) => _pipeline = pipeline;

    /// <summary>
    /// Builds the options again with <paramref name="section"/> and applies them to the running
    /// pipeline. False, with every problem added, when they are not valid; nothing changes then.
    /// </summary>
    public bool Reconfigure(IConfiguration? section, List<string> problems)
    {
        if (_pipeline is null)
        {
            return true;
        }

        var next = Build(section, TextWriter.Null, problems);
        if (next is null)
        {
            return false;
        }

        if (!_pipeline.Reconfigure(next))
        {
            // Checked above with the same rules: only a fault inside the pipeline gets here, reported to its event source.
            problems.Add("the pipeline did not take them (see the LogPersist event source)");
            return false;
        }

        return true;
    }

    private LogPersistOptions? Build(IConfiguration? section, TextWriter warnings, List<string> problems)
    {
        LogPersistOptions options;
        try
        {
            options = _fromCommandLine(warnings);
        }
        catch (UsageException e)
        {
            // At a reload: a secret file of the command line that can no longer be read.
            problems.Add(e.Message);
            return null;
        }

        if (section is not null)
        {
            try
            {
                LogPersistOptionsBinder.Bind(section, options, Key);
            }
            catch (InvalidOperationException e)
            {
                // The values that converted are bound: the check below still finds the other problems.
                problems.AddRange(e.Message.Split(Environment.NewLine).Select(p => p.TrimEnd('.')));
            }
        }

        if (section?[nameof(LogPersistOptions.MaxEntryBytes)] is null)
        {
            // Derived from the line limit the run starts with, as the command line does; fixed once the WAL is open.
            options.MaxEntryBytes = _started?.MaxEntryBytes ?? RunOptions.EntryBytes(options.MaxLineBytes);
        }

        Check(options, problems);
        return problems.Count == 0 ? options : null;
    }

    /// <summary>
    /// Adds what the SDK would refuse in <paramref name="options"/>. While running, the settings fixed by
    /// the open WAL are checked at their running values, as <see cref="LogPipeline.Reconfigure"/> does.
    /// </summary>
    private void Check(LogPersistOptions options, List<string> problems)
    {
        var fixedValues = SettingsChange.RestartOnly.Select(s => s.Written(options)).ToList();
        try
        {
            if (_started is { } started)
            {
                foreach (var setting in SettingsChange.RestartOnly)
                {
                    setting.Set(options, setting.Written(started));
                }
            }

            PipelineSettings.Resolve(options);
        }
        catch (ArgumentException e)
        {
            problems.Add(e.Message.TrimEnd('.'));
        }
        finally
        {
            for (var i = 0; i < fixedValues.Count; i++)
            {
                SettingsChange.RestartOnly[i].Set(options, fixedValues[i]);
            }
        }
    }
}
