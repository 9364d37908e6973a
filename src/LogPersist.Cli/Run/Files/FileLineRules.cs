using System.Text.RegularExpressions;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// The component a followed file's lines belong to: a short name derived from the file's name by a
/// rule, written as the <c>component</c> property (a stream label), never the file name itself, whose
/// ids and pids would make a stream per file. The rules, first match wins: the user's
/// (<c>--component REGEX=NAME</c>), Ray's log files, glog's files, then the file name's leading words
/// up to the first one holding a digit. At most <see cref="MaxComponents"/> names are given out; a
/// file past that is <see cref="OverflowComponent"/>, and the first such file is reported.
/// </summary>
internal sealed class FileLineRules
{
    /// <summary>The component of a file no rule names.</summary>
    public const string DefaultComponent = "file";

    /// <summary>The component of every file once <see cref="MaxComponents"/> names are in use.</summary>
    public const string OverflowComponent = "other";

    /// <summary>Distinct components one run gives out: each is a stream, and streams cost Loki memory.</summary>
    public const int MaxComponents = 64;

    /// <summary>The longest component; a longer rule result is cut.</summary>
    public const int MaxComponentLength = 64;

    /// <summary>Ray's files under <c>session_*/logs</c>, by the start of their name (rotated copies end in <c>.1</c>, <c>.2</c>, …).</summary>
    private static readonly (string Prefix, string Component)[] RayFiles =
    [
        ("raylet.", "raylet"),
        ("gcs_server.", "gcs_server"),
        ("python-core-worker-", "python-core-worker"),
        ("python-core-driver-", "python-core-driver"),
        ("io-worker-", "io-worker"),
        ("worker-", "worker"),
        ("job-driver-", "job-driver"),
        ("dashboard_agent", "dashboard_agent"),
        ("dashboard", "dashboard"),
        ("runtime_env_agent", "runtime_env_agent"),
        ("runtime_env_setup-", "runtime_env_setup"),
        ("log_monitor.", "log_monitor"),
        ("monitor.", "monitor"),
        ("ray_client_server", "ray_client_server"),
        ("event_", "event"),
    ];

    /// <summary>glog's <c>PROGRAM.HOST.USER.log.SEVERITY.YYYYMMDD-HHMMSS.PID</c> and its <c>PROGRAM.SEVERITY</c> link.</summary>
    private static readonly Regex Glog = new(
        @"^(?<program>[^.]+)\.(?:.+\.log\.(?:INFO|WARNING|ERROR|FATAL)\.[0-9]{8}-[0-9]{6}\.[0-9]+|(?:INFO|WARNING|ERROR|FATAL))$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, TimeSpan.FromMilliseconds(100));

    private readonly IReadOnlyList<ComponentRule> _rules;
    private readonly HashSet<string> _given = new(StringComparer.Ordinal);
    private readonly TextWriter? _error;

    public FileLineRules(IReadOnlyList<ComponentRule>? rules = null, TextWriter? error = null)
    {
        _rules = rules ?? [];
        _error = error;
    }

    /// <summary>Files given <see cref="OverflowComponent"/> because the names ran out.</summary>
    public long Overflowed { get; private set; }

    /// <summary>The component of the lines of <paramref name="path"/>; called once per file followed, from one thread.</summary>
    public string Component(string path)
    {
        var component = Name(Path.GetFileName(path));
        if (component.Length > MaxComponentLength)
        {
            component = component[..MaxComponentLength];
        }

        if (_given.Contains(component))
        {
            return component;
        }

        if (_given.Count < MaxComponents)
        {
            _given.Add(component);
            return component;
        }

        if (Overflowed++ == 0)
        {
            _error?.WriteLine($"logpersist run: the followed files' names gave more than {MaxComponents} components; '{path}' and later files with new ones are recorded as component '{OverflowComponent}'. Name them with --component REGEX=NAME.");
            _error?.Flush();
        }

        return OverflowComponent;
    }

    /// <summary>The component a rule gives <paramref name="name"/>, a file name without its directory.</summary>
    public string Name(string name)
    {
        foreach (var rule in _rules)
        {
            if (rule.Apply(name) is { Length: > 0 } named)
            {
                return named;
            }
        }

        foreach (var (prefix, component) in RayFiles)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return component;
            }
        }

        try
        {
            if (Glog.Match(name) is { Success: true } glog)
            {
                return glog.Groups["program"].Value;
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // A pathological name: the words rule below still names it.
        }

        return LeadingWords(name);
    }

    /// <summary>
    /// The name's words before its first dot, up to the first word holding a digit (an id, a pid, a
    /// date): <c>app.log</c> → <c>app</c>, <c>worker-0042.log</c> → <c>worker</c>,
    /// <c>access_2024-12-01.log</c> → <c>access</c>; <see cref="DefaultComponent"/> when the first word has one.
    /// </summary>
    private static string LeadingWords(string name)
    {
        var stem = name.AsSpan();
        if (stem.IndexOf('.') is var dot and > 0)
        {
            stem = stem[..dot];
        }

        var end = 0;
        var start = 0;
        for (var i = 0; i <= stem.Length; i++)
        {
            if (i < stem.Length && stem[i] is not ('-' or '_'))
            {
                continue;
            }

            if (stem[start..i].IndexOfAnyInRange('0', '9') >= 0)
            {
                break;
            }

            end = i;
            start = i + 1;
        }

        return end == 0 ? DefaultComponent : stem[..end].ToString();
    }
}

/// <summary>
/// A user's <c>--component REGEX=NAME</c> rule: a file whose name matches REGEX belongs to NAME, in which
/// <c>$1</c> or <c>${group}</c> stand for what a group matched (as in <see cref="Match.Result"/>).
/// </summary>
internal sealed class ComponentRule
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);
    private readonly Regex _pattern;
    private readonly string _name;

    private ComponentRule(Regex pattern, string name)
    {
        _pattern = pattern;
        _name = name;
    }

    /// <summary>Reads <c>REGEX=NAME</c> (split at the last <c>=</c>); throws <see cref="UsageException"/> naming what is wrong.</summary>
    public static ComponentRule Parse(string text)
    {
        var equals = text.LastIndexOf('=');
        if (equals <= 0 || equals == text.Length - 1)
        {
            throw new UsageException($"logpersist run: --component takes REGEX=NAME, not '{text}'.");
        }

        try
        {
            return new ComponentRule(new Regex(text[..equals], RegexOptions.CultureInvariant, MatchTimeout), text[(equals + 1)..]);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"logpersist run: --component '{text}': {e.Message}");
        }
    }

    /// <summary>The component for <paramref name="fileName"/>, or null when the rule does not match it.</summary>
    public string? Apply(string fileName)
    {
        try
        {
            return _pattern.Match(fileName) is { Success: true } match ? match.Result(_name) : null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }
}
