namespace LogPersist.LokiTestServer;

/// <summary>
/// How the test server behaves. The defaults are those of a Loki 3.x tenant (see LOKI.md, "Default limits").
/// </summary>
public sealed class LokiTestServerOptions
{
    /// <summary>The port on 127.0.0.1. The default, 0, picks a free port.</summary>
    public int Port { get; init; }

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

    /// <summary>When false, entries carrying structured metadata are refused (partial 400); others are stored. The default is true.</summary>
    public bool AllowStructuredMetadata { get; init; } = true;

    /// <summary>The version <c>/loki/api/v1/status/buildinfo</c> reports, as Loki does; null answers 404 there (as an old Loki or a proxy without it).</summary>
    public string? Version { get; init; }

    /// <summary>A push whose body (as sent, compressed) is larger is answered 413. The default, null, sets no limit.</summary>
    public long? MaxBodyBytes { get; init; }

    /// <summary>
    /// A push whose decompressed protobuf is larger is answered 500 "larger than max", as a single-binary Loki does
    /// on its internal gRPC hop. The default is 4 MiB.
    /// </summary>
    public long MaxDecompressedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>When true, a request without X-Scope-OrgID is answered 401 "no org id". The default is false (tenant "fake").</summary>
    public bool RequireTenant { get; init; }

    /// <summary>When set, a request whose Authorization header is not exactly this value is answered 401. The default is null.</summary>
    public string? RequiredAuthorization { get; init; }

    /// <summary>The clock behind "now" for the too-old and too-new checks and the query_range defaults.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
