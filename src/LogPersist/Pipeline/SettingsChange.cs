using LogPersist.Loki;

namespace LogPersist.Pipeline;

/// <summary>
/// What a configuration reload changed: the settings that apply while running, grouped by who applies
/// them (the WAL, the shipper), and those read once when the WAL opens (<see cref="RestartOnly"/>).
/// </summary>
internal static class SettingsChange
{
    /// <summary>The settings that apply while running, compared to find what a reload changed.</summary>
    internal static readonly IReadOnlyList<LiveSetting> Live =
    [
        LiveSetting.Of(nameof(LogPersistOptions.MinimumLevel), o => o.MinimumLevel),
        LiveSetting.Of(nameof(LogPersistOptions.FlushTimeout), o => o.FlushTimeout),
        LiveSetting.Of(nameof(LogPersistOptions.MaxDiskBytes), o => o.MaxDiskBytes),
        LiveSetting.Of(nameof(LogPersistOptions.FullMode), o => o.FullMode),
        LiveSetting.Of(nameof(LogPersistOptions.BlockTimeout), o => o.BlockTimeout),
        LiveSetting.Of(nameof(LogPersistOptions.Durability), o => o.Durability),
        LiveSetting.Of(nameof(LogPersistOptions.FlushInterval), o => o.FlushInterval),
        LiveSetting.Of(nameof(LogPersistOptions.LokiUrl), o => o.LokiUrl),
        LiveSetting.Of(nameof(LogPersistOptions.Tenant), o => o.Tenant),
        LiveSetting.Of(nameof(LogPersistOptions.Username), o => o.Username),
        LiveSetting.Of(nameof(LogPersistOptions.Password), o => o.Password),
        LiveSetting.Of(nameof(LogPersistOptions.BearerToken), o => o.BearerToken),
        LiveSetting.Of(nameof(LogPersistOptions.BearerTokenFile), o => o.BearerTokenFile),
        new(nameof(LogPersistOptions.Headers), (a, b) => SameMap(a.Headers, b.Headers)),
        LiveSetting.Of(nameof(LogPersistOptions.CaCertificateFile), o => o.CaCertificateFile),
        LiveSetting.Of(nameof(LogPersistOptions.ClientCertificateFile), o => o.ClientCertificateFile),
        LiveSetting.Of(nameof(LogPersistOptions.ClientKeyFile), o => o.ClientKeyFile),
        LiveSetting.Of(nameof(LogPersistOptions.ClientCertificatePassword), o => o.ClientCertificatePassword),
        LiveSetting.Of(nameof(LogPersistOptions.Encoding), o => o.Encoding),
        LiveSetting.Of(nameof(LogPersistOptions.BatchMaxBytes), o => o.BatchMaxBytes),
        LiveSetting.Of(nameof(LogPersistOptions.BatchMaxWait), o => o.BatchMaxWait),
        LiveSetting.Of(nameof(LogPersistOptions.MaxInFlight), o => o.MaxInFlight),
        new(nameof(LogPersistOptions.Labels), (a, b) => SameMap(a.Labels, b.Labels)),
        new(nameof(LogPersistOptions.LabelProperties), (a, b) => a.LabelProperties.SequenceEqual(b.LabelProperties, StringComparer.Ordinal)),
        LiveSetting.Of(nameof(LogPersistOptions.MaxLabelValues), o => o.MaxLabelValues),
        LiveSetting.Of(nameof(LogPersistOptions.MaxStreams), o => o.MaxStreams),
        new(nameof(LogPersistOptions.MetadataProperties), (a, b) => a.MetadataProperties.SequenceEqual(b.MetadataProperties, StringComparer.Ordinal)),
        LiveSetting.Of(nameof(LogPersistOptions.MaxLabelNames), o => o.MaxLabelNames),
        LiveSetting.Of(nameof(LogPersistOptions.LevelLabel), o => o.LevelLabel),
        LiveSetting.Of(nameof(LogPersistOptions.InstanceLabel), o => o.InstanceLabel),
        LiveSetting.Of(nameof(LogPersistOptions.LineFormat), o => o.LineFormat),
        LiveSetting.Of(nameof(LogPersistOptions.MaxLineBytes), o => o.MaxLineBytes),
        LiveSetting.Of(nameof(LogPersistOptions.OversizedLines), o => o.OversizedLines),
    ];

    internal static readonly HashSet<string> WalSettings =
    [
        nameof(LogPersistOptions.MaxDiskBytes), nameof(LogPersistOptions.FullMode), nameof(LogPersistOptions.BlockTimeout),
        nameof(LogPersistOptions.Durability), nameof(LogPersistOptions.FlushInterval),
    ];

    /// <summary>Everything live but the level, the flush timeout and the WAL's own settings is the shipper's.</summary>
    internal static readonly HashSet<string> ShipperSettings = Live.Select(s => s.Name)
        .Except(WalSettings)
        .Except([nameof(LogPersistOptions.MinimumLevel), nameof(LogPersistOptions.FlushTimeout)])
        .ToHashSet();

    private static bool SameMap(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var value) && value == p.Value);

    internal sealed record LiveSetting(string Name, Func<LogPersistOptions, LogPersistOptions, bool> Same)
    {
        public static LiveSetting Of<T>(string name, Func<LogPersistOptions, T> get) =>
            new(name, (a, b) => EqualityComparer<T>.Default.Equals(get(a), get(b)));
    }

    /// <summary>A shallow copy whose collections are the copy's own, so later changes to the caller's object do not reach the running settings.</summary>
    public static LogPersistOptions Copy(LogPersistOptions source) => new()
    {
        Directory = source.Directory,
        ServiceName = source.ServiceName,
        Instance = source.Instance,
        SegmentBytes = source.SegmentBytes,
        MaxDiskBytes = source.MaxDiskBytes,
        FullMode = source.FullMode,
        BlockTimeout = source.BlockTimeout,
        Durability = source.Durability,
        FlushInterval = source.FlushInterval,
        MinimumLevel = source.MinimumLevel,
        LokiUrl = source.LokiUrl,
        Tenant = source.Tenant,
        Username = source.Username,
        Password = source.Password,
        BearerToken = source.BearerToken,
        BearerTokenFile = source.BearerTokenFile,
        Headers = new Dictionary<string, string>(source.Headers),
        CaCertificateFile = source.CaCertificateFile,
        ClientCertificateFile = source.ClientCertificateFile,
        ClientKeyFile = source.ClientKeyFile,
        ClientCertificatePassword = source.ClientCertificatePassword,
        Encoding = source.Encoding,
        BatchMaxBytes = source.BatchMaxBytes,
        BatchMaxWait = source.BatchMaxWait,
        MaxInFlight = source.MaxInFlight,
        Labels = new Dictionary<string, string>(source.Labels),
        LabelProperties = [.. source.LabelProperties],
        MetadataProperties = [.. source.MetadataProperties],
        MaxLabelValues = source.MaxLabelValues,
        MaxStreams = source.MaxStreams,
        MaxLabelNames = source.MaxLabelNames,
        LevelLabel = source.LevelLabel,
        InstanceLabel = source.InstanceLabel,
        LineFormat = source.LineFormat,
        MaxLineBytes = source.MaxLineBytes,
        OversizedLines = source.OversizedLines,
        MaxEntryBytes = source.MaxEntryBytes,
        StructuredMetadata = source.StructuredMetadata,
        FlushTimeout = source.FlushTimeout,
        AdoptOrphans = source.AdoptOrphans,
        AllowGroupWritableDirectories = source.AllowGroupWritableDirectories,
        LeaseDuration = source.LeaseDuration,
        HeartbeatInterval = source.HeartbeatInterval,
        AdoptionScanInterval = source.AdoptionScanInterval,
        Liveness = source.Liveness,
        VolumeDetector = source.VolumeDetector,
        FileSystem = source.FileSystem,
        TimeProvider = source.TimeProvider,
        HttpHandler = source.HttpHandler,
        Environment = source.Environment,
        BeforeForgettingShipped = source.BeforeForgettingShipped,
    };

    /// <summary>
    /// Settings read once, when the WAL opens: where it is (Directory, ServiceName and Instance name
    /// its path), its segment size and what each entry may hold, how its directory is trusted, the
    /// structured metadata mode its resends keep, and whether it adopts. A change waits for a restart.
    /// </summary>
    internal static readonly IReadOnlyList<FixedSetting> RestartOnly =
    [
        new(nameof(LogPersistOptions.Directory), o => FullPath(o.Directory), (o, v) => o.Directory = (string?)v, o => o.Directory),
        new(nameof(LogPersistOptions.ServiceName), o => Detected(o, o.ServiceName, EnvironmentLabels.ServiceName), (o, v) => o.ServiceName = (string?)v, o => o.ServiceName),
        new(nameof(LogPersistOptions.Instance), o => Detected(o, o.Instance, EnvironmentLabels.Instance), (o, v) => o.Instance = (string?)v, o => o.Instance),
        new(nameof(LogPersistOptions.SegmentBytes), o => o.SegmentBytes, (o, v) => o.SegmentBytes = (long)v!),
        new(nameof(LogPersistOptions.MaxEntryBytes), o => o.MaxEntryBytes, (o, v) => o.MaxEntryBytes = (int)v!),
        new(nameof(LogPersistOptions.AllowGroupWritableDirectories), o => o.AllowGroupWritableDirectories, (o, v) => o.AllowGroupWritableDirectories = (bool)v!),
        new(nameof(LogPersistOptions.StructuredMetadata), o => o.StructuredMetadata, (o, v) => o.StructuredMetadata = (StructuredMetadataMode)v!),
        new(nameof(LogPersistOptions.AdoptOrphans), o => o.AdoptOrphans, (o, v) => o.AdoptOrphans = (bool)v!),
    ];

    /// <summary>A setting read once: <see cref="Get"/> gives what it means (a full path, a detected name) so that spellings of one value compare equal; <see cref="Raw"/> what was written.</summary>
    internal sealed record FixedSetting(string Name, Func<LogPersistOptions, object?> Get, Action<LogPersistOptions, object?> Set, Func<LogPersistOptions, object?>? Raw = null)
    {
        public object? Written(LogPersistOptions options) => (Raw ?? Get)(options);
    }

    private static string? FullPath(string? directory) =>
        string.IsNullOrWhiteSpace(directory) ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));

    private static string? Detected(LogPersistOptions options, string? configured, string label) =>
        !string.IsNullOrWhiteSpace(configured) ? configured : EnvironmentLabels.Detect(options.Environment).FirstOrDefault(l => l.Key == label).Value;
}
