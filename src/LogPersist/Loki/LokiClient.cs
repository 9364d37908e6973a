using System.IO.Abstractions;
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
/// <see cref="Reconfigure"/> moves later requests to a new URL, tenant, credentials or certificates;
/// a request already sent finishes where it went, and its answer counts.
/// </summary>
internal sealed class LokiClient : IDisposable
{
    private readonly HttpMessageHandler? _handler;
    private readonly object _lock = new();
    private Connection _current;
    private bool _disposed;

    public LokiClient(LokiClientOptions options, HttpMessageHandler? handler = null)
    {
        _handler = handler;
        _current = new Connection(options, handler);
    }

    /// <summary>Where requests go now.</summary>
    public Uri PushUri => Volatile.Read(ref _current).PushUri;

    /// <summary>The settings requests are made with now.</summary>
    public LokiClientOptions Options => Volatile.Read(ref _current).Options;

    /// <summary>Raised after <see cref="Reconfigure"/> moved later requests to new settings.</summary>
    public event Action? Reconfigured;

    /// <summary>
    /// Makes every later request with <paramref name="options"/> (a new URL, tenant, credentials, headers
    /// or certificates). Requests in flight finish with the settings they were sent with; the old
    /// connections close once the last of them has its answer. Throws when a certificate file cannot be
    /// read, and then nothing changes.
    /// </summary>
    public void Reconfigure(LokiClientOptions options)
    {
        var fresh = new Connection(options, _handler);
        Connection old;
        lock (_lock)
        {
            if (_disposed)
            {
                fresh.Dispose();
                return;
            }

            old = _current;
            Volatile.Write(ref _current, fresh);
        }

        old.Retire();
        Reconfigured?.Invoke();
    }

    public async Task<PushResponse> SendAsync(PushContent content, CancellationToken cancellationToken)
    {
        var connection = Enter();
        try
        {
            return await connection.SendAsync(content, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Leave();
        }
    }

    /// <inheritdoc cref="Connection.GetBuildInfoAsync"/>
    public async Task<BuildInfo> GetBuildInfoAsync(CancellationToken cancellationToken)
    {
        var connection = Enter();
        try
        {
            return await connection.GetBuildInfoAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Leave();
        }
    }

    /// <summary>The buildinfo URL beside a push URL: <c>/prefix/loki/api/v1/push</c> gives <c>/prefix/loki/api/v1/status/buildinfo</c>.</summary>
    internal static Uri BuildInfoUri(Uri pushUri) => Connection.BuildInfoUri(pushUri);

    private Connection Enter()
    {
        while (true)
        {
            var connection = Volatile.Read(ref _current);
            if (connection.Enter())
            {
                return connection;
            }

            // Retired and closed between the read and the registration: the next read sees its successor.
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Closed at once, not retired: a request made afterwards fails as a transport fault, as it always has.
        _current.Dispose();
        _handler?.Dispose();
    }

    private sealed class Connection : IDisposable
    {
        private readonly LokiClientOptions _options;
        // Made by the first request (on the shipper's thread), not with the connection: creating the
        // client and its handler (System.Net.Http's types, their EventSources) took milliseconds on the
        // path of the first log call. Certificates are still loaded here, so a bad file fails the start.
        private readonly Lazy<HttpClient> _http;
        private readonly Uri _pushUri;
        private readonly AuthenticationHeaderValue? _basic;
        private readonly X509Certificate2Collection _trusted = [];
        private readonly X509Certificate2? _clientCertificate;
        private readonly string[] _secrets;
        private string? _fileToken;
        private DateTime _fileTokenStamp;

        private int _users;
        private int _retired;

        public Connection(LokiClientOptions options, HttpMessageHandler? handler)
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
            // An injected handler is shared by every connection and disposed with the client that owns it.
            _http = new Lazy<HttpClient>(
                () => new HttpClient(handler ?? CreateHandler(), disposeHandler: handler is null) { Timeout = Timeout.InfiniteTimeSpan },
                LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public Uri PushUri => _pushUri;

        public LokiClientOptions Options => _options;

        /// <summary>Registers a request; false once the connection was retired and has no request left (it is being disposed).</summary>
        public bool Enter()
        {
            while (true)
            {
                var users = Volatile.Read(ref _users);
                if (users < 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _users, users + 1, users) == users)
                {
                    return true;
                }
            }
        }

        public void Leave()
        {
            if (Interlocked.Decrement(ref _users) == 0 && Volatile.Read(ref _retired) != 0)
            {
                DisposeIfIdle();
            }
        }

        /// <summary>No request starts here any more; it is disposed once the last one has its answer.</summary>
        public void Retire()
        {
            Volatile.Write(ref _retired, 1);
            DisposeIfIdle();
        }

        private void DisposeIfIdle()
        {
            if (Interlocked.CompareExchange(ref _users, -1, 0) == 0)
            {
                Dispose();
            }
        }

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
                using var response = await _http.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                var (text, truncated) = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
                return new PushResponse((int)response.StatusCode, Redact(text), RetryAfter(response), null)
                {
                    BodyTruncated = truncated,
                    LocationHost = response.Headers.Location is { } location ? LocationHost(location) : null,
                };
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

        /// <summary>
        /// Asks <c>/loki/api/v1/status/buildinfo</c>, under the push URL's path prefix (a gateway's <c>/loki</c>).
        /// <see cref="BuildInfo.Answered"/> is false when no answer came (transport fault, timeout, 5xx): ask again later.
        /// </summary>
        public async Task<BuildInfo> GetBuildInfoAsync(CancellationToken cancellationToken)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, BuildInfoUri(_pushUri));
                AddHeaders(request);
                using var response = await _http.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is 408 or 429 or >= 500)
                {
                    return new BuildInfo(false, null, $"HTTP {status}");
                }

                if (status is not (200 or 204))
                {
                    return new BuildInfo(true, null, $"HTTP {status}");
                }

                var (text, truncated) = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
                if (truncated)
                {
                    return new BuildInfo(true, null, "an answer larger than 64 KiB");
                }

                using var json = System.Text.Json.JsonDocument.Parse(text);
                var version = json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && json.RootElement.TryGetProperty("version", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String
                    ? v.GetString()
                    : null;
                return new BuildInfo(true, string.IsNullOrWhiteSpace(version) ? null : version, null);
            }
            catch (System.Text.Json.JsonException)
            {
                return new BuildInfo(true, null, "an answer that is not JSON");
            }
            catch (Exception e) when (e is HttpRequestException or IOException or InvalidOperationException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                return new BuildInfo(false, null, Redact(Describe(e)));
            }
        }

        /// <summary>The buildinfo URL beside a push URL: <c>/prefix/loki/api/v1/push</c> gives <c>/prefix/loki/api/v1/status/buildinfo</c>.</summary>
        internal static Uri BuildInfoUri(Uri pushUri)
        {
            const string PushPath = "/loki/api/v1/push";
            var path = pushUri.AbsolutePath.TrimEnd('/');
            var prefix = path.EndsWith(PushPath, StringComparison.Ordinal) ? path[..^PushPath.Length] : "";
            return new UriBuilder(pushUri) { Path = prefix + "/loki/api/v1/status/buildinfo", Query = "" }.Uri;
        }

        /// <summary>Reads at most <see cref="PushResponse.MaxBodyBytes"/> of a body; the rest is never read (the connection is dropped).</summary>
        private static async Task<(string Text, bool Truncated)> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(PushResponse.MaxBodyBytes + 1);
            try
            {
                using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                var length = 0;
                int read;
                while (length <= PushResponse.MaxBodyBytes
                       && (read = await stream.ReadAsync(buffer.AsMemory(length, PushResponse.MaxBodyBytes + 1 - length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                var truncated = length > PushResponse.MaxBodyBytes;
                return (Encoding.UTF8.GetString(buffer, 0, Math.Min(length, PushResponse.MaxBodyBytes)), truncated);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private string LocationHost(Uri location)
        {
            var absolute = location.IsAbsoluteUri ? location : new Uri(_pushUri, location);
            return absolute.IsDefaultPort ? absolute.Host : absolute.Host + ":" + absolute.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        private void AddHeaders(HttpRequestMessage request)
        {
            foreach (var (name, value) in _options.Headers)
            {
                request.Headers.TryAddWithoutValidation(name.Trim(), value.Trim());
            }

            if (_options.TrimmedTenant is { } tenant)
            {
                request.Headers.Remove("X-Scope-OrgID");
                request.Headers.TryAddWithoutValidation("X-Scope-OrgID", tenant);
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
                var stamp = _options.FileSystem.File.GetLastWriteTimeUtc(path);
                if (_fileToken is null || stamp != _fileTokenStamp)
                {
                    var token = ReadToken(_options.FileSystem, path);
                    if (LokiClientOptions.HasLineBreakOrNul(token))
                    {
                        // Never onto the wire: a line break would end the header and start another request.
                        Diagnostics.LogPersistEventSource.Log.OperationFailed(path, "reading the bearer token file", new InvalidDataException("the token holds a line break or NUL inside it"));
                        return null;
                    }

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

        /// <summary>A token file is small: at most 64 KiB is read, trimmed.</summary>
        private static string ReadToken(IFileSystem fileSystem, string path)
        {
            using var stream = fileSystem.FileStream.New(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var buffer = new byte[Math.Min(stream.Length, PushResponse.MaxBodyBytes)];
            stream.ReadExactly(buffer);
            return Encoding.UTF8.GetString(buffer).Trim();
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
                // A redirect is a configuration problem, never followed: it would carry the body, the tenant and
                // the credentials elsewhere, and the answer of that elsewhere is not Loki's.
                AllowAutoRedirect = false,
                // An answer left unread past the 64 KiB kept closes its connection instead of being drained: a
                // misbehaving endpoint's endless body must cost nothing, on every retry.
                MaxResponseDrainSize = 0,
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

        private TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header?.Delta is { } delta)
            {
                return delta;
            }

            if (header?.Date is { } date)
            {
                var wait = date - _options.TimeProvider.GetUtcNow();
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
            // Disposed once no request is in flight or can start, so no request is making the client now.
            if (_http.IsValueCreated)
            {
                _http.Value.Dispose();
            }

            _clientCertificate?.Dispose();
            foreach (var certificate in _trusted)
            {
                certificate.Dispose();
            }
        }
    }
}
