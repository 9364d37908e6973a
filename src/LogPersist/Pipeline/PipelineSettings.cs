using System.IO.Abstractions;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Pipeline;

/// <summary>
/// Turns the public <see cref="LogPersistOptions"/> into the settings of the WAL and the shipper:
/// fills environment defaults, places the instance directory, and collects every problem into one message.
/// </summary>
internal sealed class PipelineSettings
{
    public const string MountedRoot = "/var/lib/logpersist";
    public const string DefaultNamespace = "default";

    private PipelineSettings(WalOptions wal, ShipperOptions? shipper, StreamDescription stream, string rootSource, string instance, Func<ShipperOptions>? freshShipping)
    {
        Wal = wal;
        Instance = instance;
        FreshShipping = freshShipping;
        Stream = stream;
        Shipper = shipper;
        RootSource = rootSource;
    }

    public WalOptions Wal { get; }

    /// <summary>Null when no Loki URL is configured: entries stay in the WAL.</summary>
    public ShipperOptions? Shipper { get; }

    /// <summary>How entries become streams and lines, saved in the WAL directory for whoever ships it later.</summary>
    public StreamDescription Stream { get; }

    /// <summary>The instance name (pod), as it appears in the directory and the labels.</summary>
    public string Instance { get; }

    /// <summary>New shipping settings with the same destination, for an adopter to fill with an orphan's own labels; null without Loki.</summary>
    public Func<ShipperOptions>? FreshShipping { get; }

    /// <summary>What one entry may hold: <see cref="LogPersistOptions.MaxEntryBytes"/>, at most what a WAL record can carry.</summary>
    public EntryLimits EntryLimits { get; private init; } = EntryLimits.Default;

    /// <summary>Labels left out to stay within <see cref="LogPersistOptions.MaxLabelNames"/>, for the start-up warning.</summary>
    public IReadOnlyList<string> DroppedLabels { get; private init; } = [];

    /// <summary>Why the WAL root is where it is, for start-up diagnostics.</summary>
    public string RootSource { get; }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem when the options cannot work.</summary>
    public static PipelineSettings Resolve(LogPersistOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var environment = options.Environment;
        var detected = EnvironmentLabels.Detect(environment);
        string? Detected(string name) => detected.FirstOrDefault(l => l.Key == name).Value;

        var service = Blank(options.ServiceName) ? Detected(EnvironmentLabels.ServiceName)! : options.ServiceName!;
        var instance = Blank(options.Instance) ? Detected(EnvironmentLabels.Instance)! : options.Instance!;
        var ns = Detected(EnvironmentLabels.Namespace) ?? DefaultNamespace;
        var (root, rootSource) = Blank(options.Directory)
            ? DefaultRoot(options.FileSystem)
            : (options.FileSystem.Path.GetFullPath(options.Directory!), "configured");
        var directory = options.FileSystem.Path.Combine(root, PathSegment(ns), PathSegment(service), PathSegment(instance));

        if (!Enum.IsDefined(options.MinimumLevel))
        {
            errors.Add($"MinimumLevel {options.MinimumLevel} is not defined.");
        }

        if (options.FlushTimeout < TimeSpan.Zero || options.FlushTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"FlushTimeout must be between zero and 5 minutes; it is {options.FlushTimeout}.");
        }

        var wal = new WalOptions
        {
            Directory = directory,
            Root = root,
            AllowGroupWritableDirectories = options.AllowGroupWritableDirectories,
            SegmentBytes = options.SegmentBytes,
            MaxDiskBytes = options.MaxDiskBytes,
            FullMode = options.FullMode,
            BlockTimeout = options.BlockTimeout,
            Durability = options.Durability,
            FlushInterval = options.FlushInterval,
            OwnerDescription = $"{service}/{instance}",
            Lease = new LeaseOptions { Duration = options.LeaseDuration, Heartbeat = options.HeartbeatInterval, Environment = environment },
            FileSystem = options.FileSystem,
            TimeProvider = options.TimeProvider,
        };
        Collect(errors, wal.Validate);

        if (EntryLimits.Error(options.MaxEntryBytes) is { } entryLimit)
        {
            errors.Add(entryLimit);
        }

        if (options.MaxLabelValues is < 1 or > StreamDescription.MaxCap || options.MaxStreams is < 1 or > StreamDescription.MaxCap)
        {
            errors.Add($"MaxLabelValues and MaxStreams must be between 1 and {StreamDescription.MaxCap}; they are {options.MaxLabelValues} and {options.MaxStreams}.");
        }

        if (options.MetadataProperties.Count > StreamDescription.MaxLabels)
        {
            errors.Add($"MetadataProperties names at most {StreamDescription.MaxLabels} properties (or \"*\" for all); it names {options.MetadataProperties.Count}.");
        }

        if (options.MaxLabelNames is < 1 or > 100)
        {
            errors.Add($"MaxLabelNames must be between 1 and 100; it is {options.MaxLabelNames}.");
        }

        // How entries become streams and lines; the shipper takes it from here, and so does whoever
        // ships this directory later (it is saved there). Labels beyond Loki's per-stream limit are left out here, once.
        var (labels, levelLabel, labelProperties) = StreamLabelLimit.Fit(
            StreamResolver.StaticLabels(detected, ConfiguredLabels(options, service, instance), options.InstanceLabel),
            options.LevelLabel,
            options.LabelProperties,
            options.MaxLabelNames,
            options.Labels.Keys,
            out var droppedLabels);
        var stream = new StreamDescription
        {
            Labels = labels,
            LevelLabel = levelLabel,
            LabelProperties = labelProperties,
            MaxLabelValues = options.MaxLabelValues,
            MaxStreams = options.MaxStreams,
            MetadataProperties = options.MetadataProperties.Where(p => !string.IsNullOrWhiteSpace(p)).Distinct(StringComparer.Ordinal).ToArray(),
            LineFormat = options.LineFormat,
            MaxLineBytes = options.MaxLineBytes,
            OversizedLines = options.OversizedLines,
            StructuredMetadata = options.StructuredMetadata,
        };

        // Checked with or without Loki: lines are cut by this limit before anything is shipped (logpersist run).
        if (ShipperOptions.LineLimitError(options.MaxLineBytes) is { } lineLimit)
        {
            errors.Add(lineLimit);
        }

        var url = options.LokiUrl ?? environment("LOKI_URL");
        ShipperOptions? shipper = null;
        if (!Blank(url))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var endpoint))
            {
                errors.Add($"LokiUrl '{Scrub(url!)}' is not an absolute URL.");
            }
            else
            {
                shipper = Shipping(options, endpoint);
                stream.ApplyTo(shipper);
                Collect(errors, shipper.Validate);
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid LogPersist options: " + string.Join(" ", errors.Distinct()));
        }

        Func<ShipperOptions>? freshShipping = shipper is null ? null : () => Shipping(options, shipper.Loki.Endpoint);
        return new PipelineSettings(wal, shipper, stream, rootSource, instance, freshShipping)
        {
            DroppedLabels = droppedLabels,
            EntryLimits = EntryLimits.For(options.MaxEntryBytes, wal.MaxPayloadBytes),
        };
    }

    private static Dictionary<string, string?> ConfiguredLabels(LogPersistOptions options, string service, string instance)
    {
        var labels = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [EnvironmentLabels.ServiceName] = service,
            [EnvironmentLabels.Instance] = instance,
        };
        foreach (var (name, value) in options.Labels)
        {
            labels[name] = value;
        }

        return labels;
    }

    private static ShipperOptions Shipping(LogPersistOptions options, Uri endpoint)
    {
        return new ShipperOptions
        {
            Loki = new LokiClientOptions
            {
                Endpoint = endpoint,
                Tenant = Blank(options.Tenant) ? NullIfBlank(options.Environment("LOKI_TENANT")) : options.Tenant,
                BasicAuthUsername = NullIfBlank(options.Username),
                BasicAuthPassword = options.Password,
                BearerToken = NullIfBlank(options.BearerToken),
                BearerTokenFile = NullIfBlank(options.BearerTokenFile),
                Headers = new Dictionary<string, string>(options.Headers),
                CaCertificateFile = NullIfBlank(options.CaCertificateFile),
                ClientCertificateFile = NullIfBlank(options.ClientCertificateFile),
                ClientKeyFile = NullIfBlank(options.ClientKeyFile),
                ClientCertificatePassword = options.ClientCertificatePassword,
                Encoding = options.Encoding,
                TimeProvider = options.TimeProvider,
                FileSystem = options.FileSystem,
            },
            BatchMaxBytes = options.BatchMaxBytes,
            BatchMaxWait = options.BatchMaxWait,
            MaxInFlight = options.MaxInFlight,
            MaxLabelNames = options.MaxLabelNames,
            TimeProvider = options.TimeProvider,
        };
    }

    /// <summary>The mounted volume when there is one we can write; else the user's own data folder, never a shared temp folder.</summary>
    private static (string Root, string Source) DefaultRoot(IFileSystem fileSystem)
    {
        if (fileSystem.Directory.Exists(MountedRoot) && CanWrite(fileSystem, MountedRoot))
        {
            return (MountedRoot, "mounted volume");
        }

        var local = System.Environment.GetFolderPath(System.Environment.SpecialFolder.LocalApplicationData, System.Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(local)
            ? (fileSystem.Path.GetFullPath("logpersist"), "current directory (no local data folder)")
            : (fileSystem.Path.Combine(local, "logpersist"), "user data folder (" + MountedRoot + " is not a writable directory)");
    }

    /// <summary>
    /// Whether a file can be created in <paramref name="directory"/>: an exclusive create of an
    /// unpredictable name (nothing planted there is opened through), removed at once.
    /// </summary>
    private static bool CanWrite(IFileSystem fileSystem, string directory)
    {
        var probe = TemporaryFile.PathFor(fileSystem, fileSystem.Path.Combine(directory, ".logpersist-probe"));
        try
        {
            TemporaryFile.Create(fileSystem, probe).Dispose();
            fileSystem.File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A name safe as one directory level: letters, digits, <c>._-</c>; never <c>.</c> or <c>..</c>.</summary>
    internal static string PathSegment(string name)
    {
        var chars = name.Trim().Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray();
        var segment = new string(chars);

        // A leading dot is kept for LogPersist's own entries (the adoption area, .adoption).
        return segment.Length == 0 || segment[0] == '.' ? "_" + segment : segment;
    }

    private static void Collect(List<string> errors, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            errors.Add(e.Message);
        }
    }

    private static bool Blank(string? value) => string.IsNullOrWhiteSpace(value);

    private static string? NullIfBlank(string? value) => Blank(value) ? null : value;

    /// <summary>The URL with anything that may be user info (before the last <c>@</c>) hidden.</summary>
    private static string Scrub(string url)
    {
        var at = url.LastIndexOf('@');
        if (at < 0)
        {
            return url;
        }

        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        return (scheme >= 0 && scheme < at ? url[..(scheme + 3)] : "") + "***" + url[at..];
    }
}
