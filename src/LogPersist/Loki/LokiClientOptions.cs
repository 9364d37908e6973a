using System.IO.Abstractions;

namespace LogPersist.Loki;

/// <summary>How to reach Loki: endpoint, tenant, credentials, TLS, body format and retry timing.</summary>
internal sealed class LokiClientOptions
{
    /// <summary>Loki's base address (the push path is added) or the full push URL. Credentials in the URL become basic auth.</summary>
    public required Uri Endpoint { get; set; }

    /// <summary>Sent as <c>X-Scope-OrgID</c> when set.</summary>
    public string? Tenant { get; set; }

    public string? BasicAuthUsername { get; set; }

    public string? BasicAuthPassword { get; set; }

    public string? BearerToken { get; set; }

    /// <summary>A file holding the bearer token (a projected service-account token); re-read when it changes.</summary>
    public string? BearerTokenFile { get; set; }

    public IReadOnlyDictionary<string, string> Headers { get; set; } = new Dictionary<string, string>();

    /// <summary>PEM file of the certificate authorities trusted for the server's certificate, instead of the system store.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>PEM certificate (with <see cref="ClientKeyFile"/>) or PKCS#12 file presented to the server.</summary>
    public string? ClientCertificateFile { get; set; }

    public string? ClientKeyFile { get; set; }

    public string? ClientCertificatePassword { get; set; }

    /// <summary>The default is <see cref="PushEncoding.Protobuf"/>.</summary>
    public PushEncoding Encoding { get; set; } = PushEncoding.Protobuf;

    /// <summary>Gzip JSON bodies. The default is true.</summary>
    public bool GzipJson { get; set; } = true;

    /// <summary>Time allowed for one request. The default is 10 seconds.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First retry delay, doubled per attempt with jitter. The default is 500 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between retries (and the delay after an authentication failure). The default is 30 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A <c>Retry-After</c> longer than this is cut to it. The default is 10 minutes.</summary>
    public TimeSpan RetryAfterLimit { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the circuit stays open after consecutive failures; no request is made meanwhile. The default is 5 seconds.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where <see cref="BearerTokenFile"/> is read from.</summary>
    public IFileSystem FileSystem { get; set; } = new FileSystem();

    /// <summary>The tenant as sent: trimmed (a value read from a Secret file often ends in a newline); null when blank.</summary>
    public string? TrimmedTenant => string.IsNullOrWhiteSpace(Tenant) ? null : Tenant.Trim();

    /// <summary>Loki's (dskit's) longest tenant id.</summary>
    public const int MaxTenantLength = 150;

    /// <summary>True when a header value would end its header line: CR, LF or NUL.</summary>
    public static bool HasLineBreakOrNul(string? value) => value is not null && value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0;

    /// <summary>
    /// Why <paramref name="tenant"/> (trimmed) is not a tenant id Loki accepts, or null: letters, digits and
    /// <c>!-_.*'()</c>, at most 150 characters, not <c>.</c> or <c>..</c> (dskit tenant.ValidTenantID); a <c>|</c>
    /// names several tenants, which a push refuses.
    /// </summary>
    public static string? TenantError(string tenant)
    {
        if (tenant.Contains('|', StringComparison.Ordinal))
        {
            return $"The tenant '{tenant}' names several tenants ('|'); a push goes to exactly one.";
        }

        foreach (var c in tenant)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!-_.*'()".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return $"The tenant '{Printable(tenant)}' holds '{Printable(c.ToString())}', which Loki does not allow in a tenant id (letters, digits and !-_.*'() only).";
            }
        }

        if (tenant.Length > MaxTenantLength)
        {
            return $"The tenant id is {tenant.Length} characters long; Loki allows at most {MaxTenantLength}.";
        }

        return tenant is "." or ".." ? $"The tenant id '{tenant}' is not allowed by Loki." : null;
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    /// <summary>The push URL: the endpoint's path, or <c>/loki/api/v1/push</c> when the endpoint has none; never with credentials.</summary>
    public Uri PushUri
    {
        get
        {
            var builder = new UriBuilder(Endpoint) { UserName = "", Password = "" };
            if (builder.Path is "" or "/")
            {
                builder.Path = "/loki/api/v1/push";
            }

            return builder.Uri;
        }
    }

    /// <summary>Whether requests made with <paramref name="other"/> would go to the same place with the same identity and body encoding.</summary>
    public bool SameConnection(LokiClientOptions other) =>
        string.Equals(Endpoint.AbsoluteUri, other.Endpoint.AbsoluteUri, StringComparison.Ordinal)
        && Tenant == other.Tenant
        && BasicAuthUsername == other.BasicAuthUsername
        && BasicAuthPassword == other.BasicAuthPassword
        && BearerToken == other.BearerToken
        && BearerTokenFile == other.BearerTokenFile
        && CaCertificateFile == other.CaCertificateFile
        && ClientCertificateFile == other.ClientCertificateFile
        && ClientKeyFile == other.ClientKeyFile
        && ClientCertificatePassword == other.ClientCertificatePassword
        && Encoding == other.Encoding
        && GzipJson == other.GzipJson
        && Headers.Count == other.Headers.Count
        && Headers.All(h => other.Headers.TryGetValue(h.Key, out var value) && value == h.Value);

    public IEnumerable<string> Validate()
    {
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttp && Endpoint.Scheme != Uri.UriSchemeHttps))
        {
            yield return "The Loki endpoint must be an absolute http or https URL.";
        }

        if (BearerToken is not null && BearerTokenFile is not null)
        {
            yield return "Set either a bearer token or a bearer token file, not both.";
        }

        if ((BearerToken is not null || BearerTokenFile is not null) && (BasicAuthUsername is not null || Endpoint.UserInfo.Length > 0))
        {
            yield return "Set either basic auth or a bearer token, not both.";
        }

        if (AttemptTimeout <= TimeSpan.Zero || RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay || CircuitBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            yield return "Timeouts and delays must be positive, the maximum retry delay at least the base delay, and the circuit break duration at least 500 ms.";
        }

        if (ClientKeyFile is not null && ClientCertificateFile is null)
        {
            yield return "A client key file needs a client certificate file.";
        }

        if (TrimmedTenant is { } tenant && TenantError(tenant) is { } tenantError)
        {
            yield return tenantError;
        }

        foreach (var (name, value) in Headers)
        {
            if (string.IsNullOrWhiteSpace(name) || HasLineBreakOrNul(name) || HasLineBreakOrNul(value.Trim()))
            {
                yield return $"The header '{name.Trim()}' has a name or value with a line break or NUL inside it (or no name); it would split the request.";
            }
        }

        if (HasLineBreakOrNul(BasicAuthUsername) || HasLineBreakOrNul(BasicAuthPassword) || HasLineBreakOrNul(BearerToken?.Trim()))
        {
            yield return "A credential (user name, password or bearer token) holds a line break or NUL; it would split the request.";
        }
    }
}
