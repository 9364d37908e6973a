using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace LogPersist.Loki;

/// <summary>
/// Sends one push request per call over one pooled connection handler. Never throws for a transport
/// fault (it becomes a <see cref="PushResponse"/> with status 0); only cancellation propagates.
/// Credentials are added to requests and nowhere else: not to errors, not to diagnostics.
/// </summary>
internal sealed class LokiClient : IDisposable
{
    private readonly LokiClientOptions _options;
    private readonly HttpClient _http;
    private readonly Uri _pushUri;
    private readonly AuthenticationHeaderValue? _basic;
    private readonly X509Certificate2Collection _trusted = [];
    private readonly X509Certificate2? _clientCertificate;
    private readonly string[] _secrets;
    private string? _fileToken;
    private DateTime _fileTokenStamp;

    public LokiClient(LokiClientOptions options, HttpMessageHandler? handler = null)
    {
        _options = options;
        _pushUri = options.PushUri;
        var (user, password) = Credentials(options);
        if (user is not null)
        {
            _basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        }

        if (options.CaCertificateFile is not null)
        {
            _trusted.ImportFromPemFile(options.CaCertificateFile);
        }

        if (options.ClientCertificateFile is not null)
        {
            _clientCertificate = options.ClientKeyFile is not null
                ? X509Certificate2.CreateFromPemFile(options.ClientCertificateFile, options.ClientKeyFile)
                : LoadPkcs12(options.ClientCertificateFile, options.ClientCertificatePassword);
        }

        _secrets = new[] { password, options.BearerToken, options.BasicAuthPassword }.Where(s => !string.IsNullOrEmpty(s)).Cast<string>().ToArray();
        _http = new HttpClient(handler ?? CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri PushUri => _pushUri;

    public async Task<PushResponse> SendAsync(PushContent content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _pushUri);
        var body = new ReadOnlyMemoryContent(content.Body);
        body.Headers.ContentType = new MediaTypeHeaderValue(content.ContentType);
        if (content.ContentEncoding is not null)
        {
            body.Headers.ContentEncoding.Add(content.ContentEncoding);
        }

        request.Content = body;
        try
        {
            AddHeaders(request);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (text.Length > PushResponse.MaxBodyChars)
            {
                text = text[..PushResponse.MaxBodyChars];
            }

            return new PushResponse((int)response.StatusCode, Redact(text), RetryAfter(response), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or InvalidOperationException)
        {
            return PushResponse.Transport(Redact(Describe(e)));
        }
    }

    /// <summary>Fetches <c>/loki/api/v1/status/buildinfo</c> and returns the version, or null when unknown.</summary>
    public async Task<string?> GetVersionAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_pushUri, "/loki/api/v1/status/buildinfo"));
            AddHeaders(request);
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            return json.RootElement.TryGetProperty("version", out var version) && version.ValueKind == System.Text.Json.JsonValueKind.String
                ? version.GetString()
                : null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException or InvalidOperationException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    private void AddHeaders(HttpRequestMessage request)
    {
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (_options.Tenant is not null)
        {
            request.Headers.Remove("X-Scope-OrgID");
            request.Headers.TryAddWithoutValidation("X-Scope-OrgID", _options.Tenant);
        }

        var token = _options.BearerToken ?? ReadTokenFile();
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (_basic is not null)
        {
            request.Headers.Authorization = _basic;
        }
    }

    /// <summary>The token file's content, re-read whenever its modification time changes (projected tokens rotate).</summary>
    private string? ReadTokenFile()
    {
        var path = _options.BearerTokenFile;
        if (path is null)
        {
            return null;
        }

        try
        {
            var stamp = File.GetLastWriteTimeUtc(path);
            if (_fileToken is null || stamp != _fileTokenStamp)
            {
                var token = File.ReadAllText(path).Trim();
                lock (_secrets)
                {
                    _fileToken = token;
                    _fileTokenStamp = stamp;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Diagnostics.LogPersistEventSource.Log.OperationFailed(path, "reading the bearer token file", e);
        }

        return _fileToken;
    }

    private static (string? User, string? Password) Credentials(LokiClientOptions options)
    {
        if (options.BasicAuthUsername is not null)
        {
            return (options.BasicAuthUsername, options.BasicAuthPassword ?? "");
        }

        var info = options.Endpoint.UserInfo;
        if (info.Length == 0)
        {
            return (null, null);
        }

        var colon = info.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? (Uri.UnescapeDataString(info), "")
            : (Uri.UnescapeDataString(info[..colon]), Uri.UnescapeDataString(info[(colon + 1)..]));
    }

    private SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = _options.AttemptTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = true,
        };
        if (_clientCertificate is not null || _trusted.Count > 0)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = _clientCertificate is null ? null : new X509CertificateCollection { _clientCertificate },
                RemoteCertificateValidationCallback = _trusted.Count > 0 ? ValidateWithTrustedRoots : null,
            };
        }

        return handler;
    }

    private bool ValidateWithTrustedRoots(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private static X509Certificate2 LoadPkcs12(string path, string? password) =>
#if NET9_0_OR_GREATER
        X509CertificateLoader.LoadPkcs12FromFile(path, password);
#else
        new(path, password);
#endif

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static string Describe(Exception e)
    {
        var text = new StringBuilder(e.GetType().Name).Append(": ").Append(e.Message);
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            text.Append(" -> ").Append(inner.GetType().Name).Append(": ").Append(inner.Message);
        }

        return text.ToString();
    }

    private string Redact(string text)
    {
        foreach (var secret in _secrets)
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        }

        var token = _fileToken;
        return token is { Length: > 0 } ? text.Replace(token, "***", StringComparison.Ordinal) : text;
    }

    public void Dispose()
    {
        _http.Dispose();
        _clientCertificate?.Dispose();
        foreach (var certificate in _trusted)
        {
            certificate.Dispose();
        }
    }
}
