using System.Runtime.InteropServices;
using System.Text.Json;
using LogPersist.Cli.Run.Files;
using Microsoft.Extensions.Configuration;

namespace LogPersist.Cli.Run.Controls;

/// <summary>
/// <c>logpersist run --config FILE</c>: a JSON object with the settings that apply while the child
/// runs — <c>files</c>, <c>sample</c>, <c>drop</c>, <c>redact</c>, <c>levelPattern</c> — each replacing
/// the command-line option of the same meaning when present, and <c>logPersist</c>, LogPersist's own
/// settings over the command line's (<see cref="LiveOptions"/>). The file is read again when it changes
/// (looked at every second, so a ConfigMap's link swap is seen too) and on SIGHUP; a file with a
/// problem is reported with all of its problems and the running settings stay. A change to a setting
/// the open WAL fixes (Directory, Instance …) is reported once and waits for a restart.
/// </summary>
internal sealed class RunConfig : IDisposable
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Larger than any settings file needs; a bigger one is refused.</summary>
    private const long MaxBytes = 1L << 20;

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "files", "sample", "drop", "redact", "levelPattern", LiveOptions.Key };

    private readonly string _path;
    private readonly RunSettings _fromCommandLine;
    private readonly LineFilter _filter;
    private readonly TextWriter _error;
    private readonly object _gate = new();
    private ITimer? _timer;
    private PosixSignalRegistration? _hangup;
    private (DateTime, long) _seen;
    private RunSettings _current;
    private string? _restartNeeded;

    /// <summary>Keeps <paramref name="current"/> (from <see cref="Load"/>) in force through <paramref name="filter"/> until the file changes.</summary>
    public RunConfig(string path, RunSettings fromCommandLine, RunSettings current, LineFilter filter, TextWriter error)
    {
        _path = path;
        _fromCommandLine = fromCommandLine;
        _current = current;
        _filter = filter;
        _error = error;
        _seen = Stamp(path);
    }

    /// <summary>Where a reload's <c>files</c> go; null when the run follows no files.</summary>
    public FileFollower? Follower { get; set; }

    /// <summary>Where a reload's <c>logPersist</c> goes: the options of the running pipeline.</summary>
    public LiveOptions? Options { get; init; }

    /// <summary>The settings now in force.</summary>
    public RunSettings Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>The settings <paramref name="path"/> gives over <paramref name="fromCommandLine"/>; throws <see cref="UsageException"/> listing every problem.</summary>
    public static RunSettings Load(string path, RunSettings fromCommandLine)
    {
        var settings = Read(path, fromCommandLine, out var problems);
        return problems.Count == 0 ? settings : throw new UsageException($"logpersist run: --config '{path}': {string.Join("; ", problems)}.");
    }

    /// <summary>Starts looking for changes, and reloads on SIGHUP.</summary>
    public void Start(TimeProvider time)
    {
        _timer = time.CreateTimer(_ => ReloadIfChanged(), null, CheckInterval, CheckInterval);
        if (!OperatingSystem.IsWindows())
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Reload();
            });
        }
    }

    private void ReloadIfChanged()
    {
        if (Stamp(_path) != _seen)
        {
            Reload();
        }
    }

    /// <summary>Reads the file again and applies it, or reports why not; the running settings stay then. Never throws.</summary>
    public bool Reload()
    {
        try
        {
            return Apply();
        }
        catch (Exception e)
        {
            // Called from a timer and a signal handler: an escaping exception would end the wrapper.
            Say($"logpersist run: --config '{_path}' not applied ({e.GetType().Name}: {e.Message}); the previous settings stay.");
            return false;
        }
    }

    private bool Apply()
    {
        lock (_gate)
        {
            _seen = Stamp(_path);
            var settings = Read(_path, _fromCommandLine, out var problems);
            if (problems.Count > 0)
            {
                Say($"logpersist run: --config '{_path}' not applied ({string.Join("; ", problems)}); the previous settings stay.");
                return false;
            }

            if (Options is { } options && !options.Reconfigure(settings.LogPersist, problems))
            {
                Say($"logpersist run: --config '{_path}' not applied ({string.Join("; ", problems)}); the previous settings stay.");
                return false;
            }

            _filter.Controls = settings.Controls;
            var filesChanged = !settings.Files.SequenceEqual(_current.Files, StringComparer.Ordinal);
            if (filesChanged && Follower is { } follower)
            {
                follower.SetPatterns(settings.Files);
            }
            else if (filesChanged)
            {
                Say($"logpersist run: --config '{_path}' names files to follow; a run started without --files or files needs a restart to follow them.");
            }

            _current = settings;
            Say($"logpersist run: --config '{_path}' applied.");
            var restartNeeded = Options?.RestartNeeded;
            if (restartNeeded is not null && restartNeeded != _restartNeeded)
            {
                Say($"logpersist run: --config '{_path}' changes what the open WAL fixes; the running values stay ({restartNeeded}).");
            }

            _restartNeeded = restartNeeded;
            return true;
        }
    }

    private void Say(string message)
    {
        try
        {
            _error.WriteLine(message);
            _error.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The wrapper's stderr is gone: the settings still apply.
        }
    }

    private static RunSettings Read(string path, RunSettings fromCommandLine, out List<string> problems)
    {
        problems = [];
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                problems.Add("it does not exist");
                return fromCommandLine;
            }

            if (info.Length > MaxBytes)
            {
                problems.Add($"it is larger than {MaxBytes} bytes");
                return fromCommandLine;
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add(e.Message);
            return fromCommandLine;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            problems.Add("not JSON: " + e.Message);
            return fromCommandLine;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add("it must be a JSON object");
                return fromCommandLine;
            }

            problems.AddRange(root.EnumerateObject().Where(p => !Known.Contains(p.Name)).Select(p => $"'{p.Name}' is not a setting ({string.Join(", ", Known.Order(StringComparer.Ordinal))})"));
            var read = LineControls.FromJson(root, problems);
            var line = fromCommandLine.Controls;
            var controls = new LineControls(
                root.TryGetProperty("sample", out _) ? read.SampleRates : line.SampleRates,
                root.TryGetProperty("drop", out _) ? read.Drops : line.Drops,
                root.TryGetProperty("redact", out _) ? read.Redactions : line.Redactions,
                root.TryGetProperty("levelPattern", out _) ? read.LevelPattern : line.LevelPattern);
            var files = root.TryGetProperty("files", out _) ? LineControls.Strings(root, "files", problems) : fromCommandLine.Files;
            if (files.Any(string.IsNullOrWhiteSpace))
            {
                problems.Add("'files' holds an empty pattern");
            }

            var logPersist = root.TryGetProperty(LiveOptions.Key, out var section) ? LiveOptions.Section(section, problems) : null;
            return new RunSettings(controls, files, logPersist);
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _hangup?.Dispose();
    }
}

/// <summary>The settings of a run that <c>--config</c> may change while it runs; <paramref name="LogPersist"/> is the file's <c>logPersist</c> object, if any.</summary>
internal sealed record RunSettings(LineControls Controls, IReadOnlyList<string> Files, IConfiguration? LogPersist = null);
