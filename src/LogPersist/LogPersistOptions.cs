using System.IO.Abstractions;

namespace LogPersist;

/// <summary>
/// Settings of LogPersist, shared by the <c>Microsoft.Extensions.Logging</c> provider (configuration
/// section <c>Logging:LogPersist</c>) and the Serilog sink. Every property has a default that suits a
/// pod; with only <see cref="LokiUrl"/> (or the <c>LOKI_URL</c> environment variable) set, entries are
/// written to a local write-ahead log and shipped to Loki. All settings are checked when LogPersist
/// starts, and every problem is reported in one message. Settings changed while running (a
/// configuration reload) apply without a restart, except those marked "read once": a change to one of
/// those is reported and waits for the next start.
/// </summary>
public sealed class LogPersistOptions
{
    /// <summary>
    /// The root directory of write-ahead logs. Each instance writes under
    /// <c>{Directory}/{namespace}/{ServiceName}/{Instance}</c>, so services, replicas and namespaces
    /// sharing one volume never collide. Relative paths are taken from the current directory.
    /// Read once, when the WAL opens: a change needs a restart.
    /// </summary>
    /// <value>The default is <c>/var/lib/logpersist</c> when it exists and is writable (mount the
    /// persistent volume there), otherwise <c>logpersist</c> under the user's local data folder.</value>
    public string? Directory { get; set; }

    /// <summary>The service's name: the <c>service_name</c> label and a level of the WAL directory. Read once, when the WAL opens: a change needs a restart.</summary>
    /// <value>The default is <c>OTEL_SERVICE_NAME</c>, else <c>service.name</c> in <c>OTEL_RESOURCE_ATTRIBUTES</c>, else the entry assembly's name.</value>
    public string? ServiceName { get; set; }

    /// <summary>This process's instance name: the <c>pod</c> label and the last level of the WAL directory. Read once, when the WAL opens: a change needs a restart.</summary>
    /// <value>The default is <c>POD_NAME</c>, else <c>k8s.pod.name</c> in <c>OTEL_RESOURCE_ATTRIBUTES</c>, else <c>HOSTNAME</c>, else the machine name.</value>
    public string? Instance { get; set; }

    /// <summary>Size of each preallocated WAL segment file, a multiple of 8 between 4 KiB and 1 GiB. Read once, when the WAL opens: a change needs a restart.</summary>
    /// <value>The default is 64 MiB.</value>
    public long SegmentBytes { get; set; } = Wal.WalOptions.DefaultSegmentBytes;

    /// <summary>Cap on the WAL's disk use; at least two segments.</summary>
    /// <value>The default is 1 GiB.</value>
    public long MaxDiskBytes { get; set; } = Wal.WalOptions.DefaultMaxDiskBytes;

    /// <summary>What happens when the WAL reaches <see cref="MaxDiskBytes"/> or the disk is full. Every dropped entry is counted and marked in the stream.</summary>
    /// <value>The default is <see cref="WalFullMode.DropOldest"/>.</value>
    public WalFullMode FullMode { get; set; } = WalFullMode.DropOldest;

    /// <summary>How long a log call waits for space in <see cref="WalFullMode.Block"/> mode; above zero and at most one minute.</summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan BlockTimeout { get; set; } = Wal.WalOptions.DefaultBlockTimeout;

    /// <summary>How far an entry has travelled when the log call returns.</summary>
    /// <value>The default is <see cref="WalDurability.PageCache"/>: it survives the death of the process.</value>
    public WalDurability Durability { get; set; } = WalDurability.PageCache;

    /// <summary>Period of the background sync in <see cref="WalDurability.Interval"/> mode.</summary>
    /// <value>The default is 200 ms.</value>
    public TimeSpan FlushInterval { get; set; } = Wal.WalOptions.DefaultFlushInterval;

    /// <summary>Entries below this level are not written.</summary>
    /// <value>The default is <see cref="EntryLevel.Trace"/>: whatever the logging framework's own filters let through.</value>
    public EntryLevel MinimumLevel { get; set; } = EntryLevel.Trace;

    /// <summary>
    /// Loki's base URL (<c>http://loki:3100</c>; the push path is added) or the full push URL. An
    /// empty string keeps entries in the WAL only. User info in the URL is used for basic authentication.
    /// </summary>
    /// <value>The default (null) is the <c>LOKI_URL</c> environment variable; when that is unset too, entries stay in the WAL.</value>
    public string? LokiUrl { get; set; }

    /// <summary>The tenant, sent as <c>X-Scope-OrgID</c>.</summary>
    /// <value>The default (null) is the <c>LOKI_TENANT</c> environment variable.</value>
    public string? Tenant { get; set; }

    /// <summary>User name for basic authentication.</summary>
    public string? Username { get; set; }

    /// <summary>Password for basic authentication. Never written to the WAL, logs or error messages.</summary>
    public string? Password { get; set; }

    /// <summary>A bearer token sent as <c>Authorization: Bearer</c>.</summary>
    public string? BearerToken { get; set; }

    /// <summary>A file holding the bearer token, read again whenever it changes (projected service-account tokens).</summary>
    public string? BearerTokenFile { get; set; }

    /// <summary>Extra headers sent with every push.</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>A PEM bundle of certificate authorities trusted for Loki's certificate, instead of the system's.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>A client certificate for mutual TLS: PEM (with <see cref="ClientKeyFile"/>) or PKCS#12.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>The password of a PKCS#12 <see cref="ClientCertificateFile"/>.</summary>
    public string? ClientCertificatePassword { get; set; }

    /// <summary>The body format of push requests.</summary>
    /// <value>The default is <see cref="PushEncoding.Protobuf"/> (snappy-compressed).</value>
    public PushEncoding Encoding { get; set; } = PushEncoding.Protobuf;

    /// <summary>Uncompressed size at which a batch is sent; between 1 KiB and 4 MiB.</summary>
    /// <value>The default is 1 MiB.</value>
    public int BatchMaxBytes { get; set; } = Shipping.ShipperOptions.DefaultBatchMaxBytes;

    /// <summary>Longest time the first entry of a batch waits for more.</summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan BatchMaxWait { get; set; } = Shipping.ShipperOptions.DefaultBatchMaxWait;

    /// <summary>Push requests sent concurrently; between 1 and 64.</summary>
    /// <value>The default is 2.</value>
    public int MaxInFlight { get; set; } = 2;

    /// <summary>Labels added to or replacing the detected ones (<c>service_name</c>, <c>namespace</c>, <c>pod</c>, <c>container</c>); an empty value removes a label.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Properties whose scalar values become labels. A property never becomes a label unless named here (a cardinality guard).</summary>
    public List<string> LabelProperties { get; set; } = [];

    /// <summary>
    /// Most distinct values each of <see cref="LabelProperties"/> takes as a label within an hour, between
    /// 1 and 100,000. Further values become the label value <c>__overflow__</c> (the real value stays in
    /// the line or the metadata), counted in <c>logpersist.label.overflow</c>, reported once an hour
    /// (EventSource event 36) and shown by a Degraded health check, so that one property holding user ids
    /// cannot take the tenant past Loki's stream limit.
    /// </summary>
    /// <value>The default is 100.</value>
    public int MaxLabelValues { get; set; } = Shipping.CardinalityGuard.DefaultMaxValues;

    /// <summary>
    /// Most streams <see cref="LabelProperties"/> and <see cref="LevelLabel"/> open within an hour, between 1
    /// and 100,000; an entry that would open another goes to the overflow stream of its level. Loki refuses
    /// new streams past 5,000 active ones per tenant by default: 500 leaves room for ten instances.
    /// </summary>
    /// <value>The default is 500.</value>
    public int MaxStreams { get; set; } = Shipping.CardinalityGuard.DefaultMaxStreams;

    /// <summary>
    /// Properties sent as Loki structured metadata, searchable without becoming labels (<c>| trace_id="…"</c>
    /// style filters, no new streams); <c>*</c> sends every property. Only top-level properties with a
    /// scalar value go, named as Loki 3 normalises names; a property whose name is taken or that would
    /// pass Loki's metadata limits (128 entries, 64 KiB per entry) stays in the line. They leave the line
    /// while structured metadata is sent (see <see cref="StructuredMetadata"/>: decided once per WAL, so a
    /// resend carries the same metadata) and stay in it where the server refuses metadata.
    /// </summary>
    public List<string> MetadataProperties { get; set; } = [];

    /// <summary>
    /// Most label names a stream carries; between 1 and 100. Loki refuses every entry of a stream with
    /// more (<c>max_label_names_per_series</c>: 15 in Loki 3, 30 in Loki 2). Labels that do not fit are
    /// left out at start, with a warning (EventSource event 28): allow-listed properties from the last,
    /// then the <c>level</c> label, then configured labels from the last; <c>service_name</c>, <c>pod</c>,
    /// <c>namespace</c> and <c>container</c> go last.
    /// </summary>
    /// <value>The default is 15, Loki 3's limit.</value>
    public int MaxLabelNames { get; set; } = Shipping.StreamLabelLimit.DefaultMaxLabelNames;

    /// <summary>Add the entry's level as a <c>level</c> label.</summary>
    /// <value>The default is false: the level is in the line, where Grafana finds it.</value>
    public bool LevelLabel { get; set; }

    /// <summary>Keep the <c>pod</c> label, so each instance writes its own stream and a late replay after an outage is not refused as "too far behind".</summary>
    /// <value>The default is true.</value>
    public bool InstanceLabel { get; set; } = true;

    /// <summary>How an entry becomes the line Loki stores.</summary>
    /// <value>The default is <see cref="LineFormat.Json"/>.</value>
    public LineFormat LineFormat { get; set; } = LineFormat.Json;

    /// <summary>Longest line sent, in UTF-8 bytes; Loki's <c>max_line_size</c>.</summary>
    /// <value>The default is 256 KiB.</value>
    public int MaxLineBytes { get; set; } = 256 * 1024;

    /// <summary>What happens to a longer line.</summary>
    /// <value>The default is <see cref="OversizedLineMode.Truncate"/>.</value>
    public OversizedLineMode OversizedLines { get; set; } = OversizedLineMode.Truncate;

    /// <summary>
    /// Most bytes one entry takes in the WAL, between 4 KiB and 1 GiB (and no more than a segment holds).
    /// A log call that does not fit is cut, never dropped: a text (message, exception, a string value)
    /// keeps at most a quarter of this; a sequence or map its first 1,000 items; a value that contains
    /// itself or nests deeper than 16 levels becomes a marker; the sequences and maps of an entry hold at
    /// most 100,000 items in all; what is left once the budget is spent is left out. The line names each cut in its <c>cut</c> field, and
    /// the <c>logpersist.entry.cut</c> metric counts them by reason.
    /// Read once, when the WAL opens: a change needs a restart.
    /// </summary>
    /// <value>The default is 1 MiB.</value>
    public int MaxEntryBytes { get; set; } = Entries.EntryLimits.DefaultMaxBytes;

    /// <summary>Whether trace and span ids travel as Loki structured metadata or in the line. Read once, when the WAL opens: a change needs a restart.</summary>
    /// <value>The default is <see cref="StructuredMetadataMode.Auto"/>.</value>
    public StructuredMetadataMode StructuredMetadata { get; set; } = StructuredMetadataMode.Auto;

    /// <summary>How long disposing LogPersist (host shutdown, <c>Log.CloseAndFlush()</c>) waits for Loki to acknowledge what was logged; what is left stays in the WAL for the next start.</summary>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Ship and then delete the WAL directories that gone instances of the same service left on a
    /// shared volume (<c>{Directory}/{namespace}/{service}/*</c>): pods of a Deployment or Ray workers
    /// that come back under new names. A directory is taken once its owner record has not changed for
    /// the lease (30 seconds), or, with Kubernetes liveness (the LogPersist.Kubernetes package), at the
    /// next scan once the API server no longer has its pod; exactly one instance adopts it, and its entries go to Loki under the
    /// labels of the instance that wrote them, with <c>adopted_by</c> as structured metadata. Needs a
    /// Loki URL; does nothing without one.
    /// Read once, when the WAL opens: a change needs a restart.
    /// </summary>
    /// <value>The default is false: each instance ships only its own directory.</value>
    public bool AdoptOrphans { get; set; }

    /// <summary>
    /// Accept directory levels under <see cref="Directory"/> (<c>{namespace}</c>, <c>{service}</c>) that
    /// are writable by their group, when that group is one of this process's — a Kubernetes volume whose
    /// <c>fsGroup</c> handling made them group-writable. Without it, LogPersist refuses to start on a
    /// level that anyone but its own user can write to (the start-up error names the level), because
    /// whoever can write there can plant links or files where LogPersist writes. Levels are still never
    /// followed as links, never world-writable and always owned by this user; the instance directory
    /// itself is always narrowed to 0700.
    /// Read once, when the WAL opens: a change needs a restart.
    /// </summary>
    /// <value>The default is false.</value>
    public bool AllowGroupWritableDirectories { get; set; } = Wal.WalOptions.DefaultAllowGroupWritableDirectories;

    /// <summary>The owner record's lease and heartbeat; tests shorten them.</summary>
    internal TimeSpan LeaseDuration { get; set; } = Wal.LeaseOptions.DefaultDuration;

    internal TimeSpan HeartbeatInterval { get; set; } = Wal.LeaseOptions.DefaultHeartbeat;

    /// <summary>How often siblings are looked at for adoption; tests shorten it.</summary>
    internal TimeSpan AdoptionScanInterval { get; set; } = Adoption.AdoptionOptions.DefaultScanInterval;

    /// <summary>
    /// Creates the source adoption asks whether an owner is gone before the lease rule (LogPersist.Kubernetes
    /// sets it); called once when the pipeline opens with <see cref="AdoptOrphans"/> on. Null: the lease rule alone.
    /// Read once, when the WAL opens.
    /// </summary>
    internal Func<Adoption.IHolderLiveness>? Liveness { get; set; }

    /// <summary>Tells a local volume from a network one at start-up; tests stand in a network volume here.</summary>
    internal Func<string, Wal.VolumeInfo> VolumeDetector { get; set; } = Wal.VolumeInfo.Detect;

    /// <summary>The file system for directories, the lock and the checkpoint; tests inject faults here.</summary>
    internal IFileSystem FileSystem { get; set; } = new FileSystem();

    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The HTTP handler for pushes, for tests; null builds one from the settings.</summary>
    internal HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>The environment the defaults are read from, for tests.</summary>
    internal Func<string, string?> Environment { get; set; } = System.Environment.GetEnvironmentVariable;

    /// <summary>See <see cref="Wal.WriteAheadLog.BeforeForgettingShipped"/>: <c>run --files</c> saves its read positions there.</summary>
    internal Func<Wal.WriteAheadLog, bool>? BeforeForgettingShipped { get; set; }
}
