namespace LogPersist.LokiTestServer;

/// <summary>
/// How the test server behaves. The defaults are those of a Loki 3.x tenant (see LOKI.md, "Default limits"), answered in
/// the dialect of <see cref="Dialect"/>.
/// </summary>
public sealed class LokiTestServerOptions
{
    /// <summary>Loki's default list of labels a <c>service_name</c> is taken from (pkg/validation/limits.go, v3.3.0 to v3.7.6).</summary>
    internal static readonly string[] DefaultServiceNameLabels =
        ["service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container", "container_name", "k8s_container_name", "component", "workload", "job", "k8s_job_name"];

    /// <summary>The port on 127.0.0.1. The default, 0, picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>The Loki release whose answers the server gives. The default is <see cref="LokiDialect.V3"/>.</summary>
    public LokiDialect Dialect { get; init; } = LokiDialect.V3;

    /// <summary>
    /// Serves every Loki path under this prefix (<c>/loki</c> serves <c>/loki/loki/api/v1/push</c>), as a gateway in front of
    /// Loki does; the unprefixed paths then answer 404. <c>/login</c> stays at the root. The default, null, serves at the root.
    /// </summary>
    public string? PathPrefix { get; init; }

    /// <summary>Longest accepted line in UTF-8 bytes; longer entries are refused ("line too long"). 0 means unlimited. The default is 256 KiB.</summary>
    public int MaxLineBytes { get; init; } = 256 * 1024;

    /// <summary>Entries older than now minus this are refused ("timestamp too old"). Zero or less turns the check off. The default is 7 days.</summary>
    public TimeSpan RejectOldSamplesMaxAge { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Entries newer than now plus this are refused ("timestamp too new"). The default is 10 minutes.</summary>
    public TimeSpan CreationGracePeriod { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Entries older than the newest entry of the same stream minus this are refused ("entry too far behind").
    /// Zero or less turns the check off. The default is 1 hour (Loki's max_chunk_age / 2).
    /// </summary>
    public TimeSpan OutOfOrderWindow { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// When false, entries carrying structured metadata are refused (partial 400); others are stored. The default is true
    /// (3.x; 2.9 defaulted to false). A 2.7 dialect ignores structured metadata and drops it silently.
    /// </summary>
    public bool AllowStructuredMetadata { get; init; } = true;

    /// <summary>Largest structured metadata per entry, names and values in UTF-8 bytes (3.x). 0 means unlimited. The default is 64 KiB.</summary>
    public int MaxStructuredMetadataBytes { get; init; } = 64 * 1024;

    /// <summary>Most structured metadata pairs per entry (3.x). 0 means unlimited. The default is 128.</summary>
    public int MaxStructuredMetadataEntries { get; init; } = 128;

    /// <summary>
    /// Most label names a stream may have; a stream with more has all its entries refused. 3.2 and later do not count
    /// <c>service_name</c>. The default, null, is the dialect's: 15 for 3.x, 30 for 2.x.
    /// </summary>
    public int? MaxLabelNamesPerSeries { get; init; }

    /// <summary>Longest label name in bytes; a stream with a longer one has all its entries refused. The default is 1024.</summary>
    public int MaxLabelNameLength { get; init; } = 1024;

    /// <summary>Longest label value in bytes; a stream with a longer one has all its entries refused. The default is 2048.</summary>
    public int MaxLabelValueLength { get; init; } = 2048;

    /// <summary>
    /// The labels a 3.x server takes <c>service_name</c> from (the first one present), when a stream has none; without any of
    /// them it is <c>unknown_service</c>. Empty turns the discovery off. Ignored by 2.x dialects. The default, null, is
    /// Loki's list for the dialect.
    /// </summary>
    public IReadOnlyList<string>? DiscoverServiceName { get; init; }

    /// <summary>
    /// The tenant's ingestion rate in bytes per second: line bytes, plus structured metadata bytes from 3.3 on. A push over
    /// it is answered 429 and nothing of it is stored. The default, null, sets no limit.
    /// </summary>
    public double? IngestionRateBytesPerSecond { get; init; }

    /// <summary>
    /// The tenant's burst, the most bytes one push may carry (a larger push gets 429 every time). Used only with
    /// <see cref="IngestionRateBytesPerSecond"/>. The default, null, is Loki's 6 MiB.
    /// </summary>
    public long? IngestionBurstBytes { get; init; }

    /// <summary>
    /// The most streams a tenant may hold. Once it holds that many, a stream it does not hold yet has all its entries refused
    /// with Loki's 429 stream-limit text, while the push's streams it already holds are stored; the answer is the last
    /// stream's, as Loki's ingester gives it (STREAM-LIMITS.md). Streams are never forgotten here. The default, null, sets no
    /// limit (Loki's is 5000).
    /// </summary>
    public int? MaxStreamsPerTenant { get; init; }

    /// <summary>
    /// Each stream's own rate in bytes per second, counted as the tenant rate is (line bytes, plus structured metadata from
    /// 3.3 on). A stream over it gets Loki's 429 per-stream rate answer: 3.x dialects refuse the stream's whole share of the
    /// push (shard_streams on), 2.x dialects only the entries over it; the push's other streams are stored. The server does
    /// not shard streams. The default, null, sets no limit (Loki's is 3 MiB).
    /// </summary>
    public double? PerStreamRateBytesPerSecond { get; init; }

    /// <summary>
    /// Each stream's burst: the most bytes a stream may take at once (more are refused every time). Used only with
    /// <see cref="PerStreamRateBytesPerSecond"/>. The default, null, is Loki's 15 MiB.
    /// </summary>
    public long? PerStreamBurstBytes { get; init; }

    /// <summary>
    /// While now is before this time every push of the tenant is answered <see cref="BlockIngestionStatusCode"/> with Loki's
    /// "ingestion blocked" text and nothing is stored (3.2 and later; earlier dialects ignore it). The default is null.
    /// </summary>
    public DateTimeOffset? BlockIngestionUntil { get; init; }

    /// <summary>The status of a blocked push. 200 answers 204 and silently stores nothing, as Loki does. The default is Loki's 260.</summary>
    public int BlockIngestionStatusCode { get; init; } = 260;

    /// <summary>
    /// The uncompressed bytes after which a stream's head block is cut. Exact duplicates (timestamp and line, and from 3.7
    /// structured metadata) are dropped only while the first copy is the stream's last entry or still in its head block.
    /// The default is Loki's 256 KiB (ingester.chunks-block-size).
    /// </summary>
    public int HeadBlockBytes { get; init; } = 256 * 1024;

    /// <summary>Most refused entries an "entry too far behind" answer lists per stream; 0 lists all. The default is Loki's 10.</summary>
    public int MaxReturnedStreamErrors { get; init; } = 10;

    /// <summary>The version <c>/loki/api/v1/status/buildinfo</c> reports, as Loki does; null answers 404 there (as an old Loki or a proxy without it).</summary>
    public string? Version { get; init; }

    /// <summary>The first this many requests to <c>/loki/api/v1/status/buildinfo</c> are answered 500. The default is 0.</summary>
    public int BuildInfoFailures { get; init; }

    /// <summary>A push whose body (as sent, compressed) is larger is answered 413. The default, null, sets no limit.</summary>
    public long? MaxBodyBytes { get; init; }

    /// <summary>
    /// A push whose decompressed protobuf is larger is answered 500 "larger than max", as a single-binary Loki does
    /// on its internal gRPC hop. The default is 4 MiB.
    /// </summary>
    public long MaxDecompressedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// When true, a request without X-Scope-OrgID is answered 401 "no org id". The default is false (tenant "fake"). Either
    /// way an X-Scope-OrgID that is sent is the tenant, and one Loki would not accept is answered 400.
    /// </summary>
    public bool RequireTenant { get; init; }

    /// <summary>When set, a request whose Authorization header is not exactly this value is answered 401. The default is null.</summary>
    public string? RequiredAuthorization { get; init; }

    /// <summary>The clock behind "now" for the too-old and too-new checks, the ingestion and per-stream rates, blocking and the query_range defaults.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Loki's per_stream_rate_limit_burst (pkg/validation/limits.go, v2.7.7 to v3.7.6): five times the 3 MiB rate.</summary>
    internal const long DefaultPerStreamBurstBytes = 15L * 1024 * 1024;

    /// <summary>The label-name limit in force: <see cref="MaxLabelNamesPerSeries"/> or the dialect's default.</summary>
    internal int EffectiveMaxLabelNames => MaxLabelNamesPerSeries ?? (Dialect.Major >= 3 ? 15 : 30);

    /// <summary>The service-name labels in force for the dialect (pkg/validation/limits.go at v3.0.0, v3.2.0 and v3.3.0).</summary>
    internal IReadOnlyList<string> EffectiveServiceNameLabels =>
        Dialect.Major < 3 ? []
        : DiscoverServiceName ?? (Dialect.AtLeast(3, 3) ? DefaultServiceNameLabels
            : Dialect.AtLeast(3, 2) ? [.. DefaultServiceNameLabels.Where(l => l != "app_name")]
            : [.. DefaultServiceNameLabels.Where(l => l is not ("app_name" or "k8s_container_name" or "k8s_job_name"))]);
}
