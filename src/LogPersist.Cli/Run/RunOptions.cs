using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LogPersist.Entries;
using LogPersist.Kubernetes;

namespace LogPersist.Cli.Run;

/// <summary>
/// The options of <c>logpersist run</c> besides the shared Loki ones (<see cref="SdkOptions"/>), and
/// their translation into <see cref="LogPersistOptions"/>.
/// </summary>
internal sealed class RunOptions
{
    public Option<string?> Service { get; } = new("--service") { Description = "The service_name label and WAL directory level. Default: the command's file name." };

    public Option<string?> Instance { get; } = new("--instance") { Description = "The pod label and last WAL directory level. Default: $POD_NAME, else $HOSTNAME." };

    public Option<string?> Directory { get; } = new("--directory") { Description = "Root of the WAL directories. Default: /var/lib/logpersist when writable, else the user's data folder." };

    public Option<string[]> Labels { get; } = new("--label") { Description = "Stream label NAME=VALUE; repeatable. An empty value removes a detected label.", AllowMultipleArgumentsPerToken = false };

    public Option<string[]> Metadata { get; } = new("--metadata")
    {
        Description = "A field of JSON lines (or file, component) sent as Loki structured metadata instead of in the line, where Loki takes it; repeatable; * for every field.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<WalDurability?> Durability { get; } = new("--durability") { Description = "PageCache (default: survives the process), Interval or Always." };

    public Option<long?> MaxDiskBytes { get; } = new("--max-disk-bytes") { Description = "Cap on the WAL's disk use. Default: 1 GiB." };

    public Option<int?> MaxLineBytes { get; } = new("--max-line-bytes") { Description = "Loki's max line size; a longer output line is recorded in pieces. Default: 262144." };

    public Option<LineFormat?> LineFormat { get; } = new("--line-format") { Description = "How entries become Loki lines: Json (default), Logfmt or Text." };

    public Option<TimeSpan?> FlushTimeout { get; } = new("--flush-timeout")
    {
        Description = "How long to wait, after the child exits, for Loki to acknowledge its output: 5s, 500ms, 2m or 00:00:05. Default: 5s.",
        CustomParser = result => Durations.Parse(result.Tokens[0].Value, result),
    };

    public Option<bool> AdoptOrphans { get; } = new("--adopt-orphans")
    {
        Description = "Also ship, then delete, the WAL directories that gone instances of the same service left under the root (a shared volume); see docs/kubernetes.md.",
    };

    public Option<bool> KubernetesLiveness { get; } = new("--kubernetes-liveness")
    {
        Description = "With --adopt-orphans: a sibling's WAL is adopted at the next scan once the Kubernetes API server says its pod is gone, and never while the pod exists. Needs get, list and watch on pods in the namespace; while the API cannot be reached or refuses, the lease rule applies.",
    };

    public Option<string?> KubernetesLabelSelector { get; } = new("--kubernetes-label-selector")
    {
        Description = "With --kubernetes-liveness: the label selector of the pods whose WALs share the volume (ray.io/cluster=ray-logpersist). Default: every pod of the namespace.",
    };

    public Option<bool> AllowGroupWritableDirectories { get; } = new("--allow-group-writable-directories")
    {
        Description = "Accept namespace and service directories under the root that are writable by one of this process's groups (a volume whose fsGroup makes them so); see docs/kubernetes.md (security on a shared volume).",
    };

    public Option<string[]> Files { get; } = new("--files")
    {
        Description = "Also follow the files this pattern names (* and ? within a path segment; directory symlinks followed), including files that appear later, into the WAL; repeatable. Each line carries its file name; a restart on the same WAL resumes each file where its WAL ends.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> Components { get; } = new("--component")
    {
        Description = "With --files: the component (a stream label) of files whose name matches REGEX is NAME, where $1 or ${group} stand for a group's match; repeatable, first match wins, before the built-in rules (Ray's files, glog's, then the name's leading words).",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> PodLabelNames { get; } = new("--pod-label")
    {
        Description = "A label of this pod (e.g. ray.io/node-type) to add as a stream label, read from --pod-labels-file; repeatable. The name is sanitised as Loki label names must be (ray_io_node_type).",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> PodLabelsFile { get; } = new("--pod-labels-file") { Description = $"Where the downward API put the pod's labels. Default: {PodLabels.DefaultPath}." };

    public Option<string[]> Samples { get; } = new("--sample")
    {
        Description = "Keep only this share of the lines of a level, before the WAL: LEVEL=RATE with a rate from 0 to 1 (debug=0.1); repeatable. The level is a JSON line's, a known text format's, or --level-pattern's.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> Drops { get; } = new("--drop") { Description = "Leave out lines this .NET regular expression matches, before the WAL; repeatable.", AllowMultipleArgumentsPerToken = false };

    public Option<string[]> Redactions { get; } = new("--redact")
    {
        Description = "Replace what this regular expression matches before the line reaches the WAL: REGEX[=REPLACEMENT] (default [REDACTED]; write = in REGEX as \\=); repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> LevelPattern { get; } = new("--level-pattern") { Description = "A regular expression whose group named 'level' gives a text line's level (for --sample), tried before the built-in formats." };

    public Option<string?> Config { get; } = new("--config")
    {
        Description = "A JSON file with files, sample, drop, redact and levelPattern, replacing those options, and logPersist, LogPersist's own settings (MinimumLevel, Labels, LokiUrl, …) over the options' values; read again when it changes and on SIGHUP and applied while the command runs (a setting fixed by the open WAL, such as Directory, waits for a restart), a bad file reported and the running settings kept.",
    };

    public Argument<string[]> Command { get; } = new("command")
    {
        Description = "The command and its arguments, after --.",
        Arity = ArgumentArity.OneOrMore,
    };

    public void AddTo(Command command)
    {
        foreach (var option in (Option[])[Service, Instance, Directory, Labels, Metadata, Durability, MaxDiskBytes, MaxLineBytes, LineFormat, FlushTimeout, AdoptOrphans, KubernetesLiveness, KubernetesLabelSelector, AllowGroupWritableDirectories, Files, Components, PodLabelNames, PodLabelsFile, Samples, Drops, Redactions, LevelPattern, Config])
        {
            command.Options.Add(option);
        }

        command.Arguments.Add(Command);
    }

    /// <summary>
    /// The SDK options for <paramref name="command"/>: the run options here, the Loki ones through
    /// <paramref name="sdk"/>; what is wrong with the pod's labels goes to <paramref name="warnings"/>.
    /// Throws <see cref="UsageException"/> for a malformed label; the SDK validates the rest when the pipeline opens.
    /// </summary>
    public LogPersistOptions ToOptions(ParseResult result, SdkOptions sdk, CliContext context, string command, TextWriter warnings)
    {
        var options = new LogPersistOptions
        {
            Directory = result.GetValue(Directory),
            ServiceName = result.GetValue(Service) is { Length: > 0 } service ? service : System.IO.Path.GetFileName(command),
            Instance = result.GetValue(Instance),
            Environment = context.Environment,
            TimeProvider = context.Time,
            HttpHandler = context.HttpHandler,
            // A piece is cut by its raw bytes; escaping can make its line longer than the limit, and the
            // shipper must then split that line rather than cut off what the child wrote.
            OversizedLines = OversizedLineMode.Split,
            AdoptOrphans = result.GetValue(AdoptOrphans),
            AllowGroupWritableDirectories = result.GetValue(AllowGroupWritableDirectories),
        };
        if (result.GetValue(KubernetesLiveness))
        {
            options.UseKubernetesLiveness(new KubernetesLivenessOptions
            {
                LabelSelector = result.GetValue(KubernetesLabelSelector),
                Environment = context.Environment,
                TimeProvider = context.Time,
            });
        }
        // The pod's labels first: a --label of the same name overrides one.
        foreach (var (name, value) in PodLabels.Read(result.GetValue(PodLabelsFile) ?? PodLabels.DefaultPath, result.GetValue(PodLabelNames) ?? [], warnings))
        {
            options.Labels[name] = value;
        }

        foreach (var label in result.GetValue(Labels) ?? [])
        {
            var (name, value) = SdkOptions.Pair(label, "--label");
            options.Labels[name] = value;
        }

        options.MetadataProperties.AddRange(result.GetValue(Metadata) ?? []);
        if (result.GetValue(Durability) is { } durability) options.Durability = durability;
        if (result.GetValue(MaxDiskBytes) is { } maxDisk) options.MaxDiskBytes = maxDisk;
        if (result.GetValue(LineFormat) is { } lineFormat) options.LineFormat = lineFormat;
        if (result.GetValue(FlushTimeout) is { } flushTimeout) options.FlushTimeout = flushTimeout;
        if (result.GetValue(MaxLineBytes) is { } maxLine) options.MaxLineBytes = maxLine;

        options.MaxEntryBytes = EntryBytes(options.MaxLineBytes);

        sdk.ApplyLoki(result, options, context.Environment);
        return options;
    }

    /// <summary>
    /// What one entry may hold when a piece of an output line may be <see cref="PieceBytes"/> long:
    /// one text keeps a quarter of the entry budget, and a piece of invalid UTF-8 grows up to 3 times
    /// when its bytes become U+FFFD. Never cut what the child wrote.
    /// </summary>
    public static int EntryBytes(int maxLineBytes) => (int)Math.Clamp(16L * maxLineBytes, EntryLimits.DefaultMaxBytes, EntryLimits.LargestMaxBytes);

    /// <summary>
    /// The longest piece of an output line recorded as one entry: the line limit less room for what
    /// the line format adds around the message (level, category, keys), so a piece's Loki line fits.
    /// </summary>
    public static int PieceBytes(int maxLineBytes) => maxLineBytes - Math.Min(1024, maxLineBytes / 4);
}
