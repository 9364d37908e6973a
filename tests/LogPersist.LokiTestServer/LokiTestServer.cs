using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A Loki-compatible HTTP server on 127.0.0.1 for end-to-end tests and benchmarks: takes pushes (protobuf with
/// snappy, or JSON), enforces Loki's limits with Loki's answers, keeps what it accepted, answers query_range, and
/// can be scripted to fail, stall, reset, redirect, go down and come back. It answers in the dialect of
/// <see cref="LokiTestServerOptions.Dialect"/> (Loki 2.x or 3.x).
/// </summary>
public sealed class LokiTestServer : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    private readonly EntryStore _store;
    private readonly RequestLog _requests = new();
    private readonly ScriptQueue _scripts = new();
    private readonly ConnectionCount _connections = new();
    private readonly PushHandler _push;
    private readonly QueryRangeHandler _queryRange;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private CancellationTokenSource _stopping = new();
    private readonly string _prefix;
    private bool _disposed;
    private int _buildInfoRequests;

    private LokiTestServer(LokiTestServerOptions options)
    {
        Options = options;
        _prefix = NormalizePrefix(options.PathPrefix);
        _store = new EntryStore(options);
        _push = new PushHandler(options, _store, _requests, _scripts);
        _queryRange = new QueryRangeHandler(options, _store);
    }

    /// <summary>http://127.0.0.1:{port}/</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>BaseAddress + <see cref="LokiTestServerOptions.PathPrefix"/> + loki/api/v1/push.</summary>
    public Uri PushUri => new(BaseAddress, _prefix.TrimStart('/') + (_prefix.Length > 0 ? "/" : "") + "loki/api/v1/push");

    /// <summary>BaseAddress + <see cref="LokiTestServerOptions.PathPrefix"/> + loki/api/v1/status/buildinfo.</summary>
    public Uri BuildInfoUri => new(BaseAddress, _prefix.TrimStart('/') + (_prefix.Length > 0 ? "/" : "") + "loki/api/v1/status/buildinfo");

    /// <summary>BaseAddress + login: the HTML page a gateway's redirect leads to (see <see cref="ScriptedResponse.Redirect"/>).</summary>
    public Uri LoginUri => new(BaseAddress, "login");

    /// <summary>The options the server was started with.</summary>
    public LokiTestServerOptions Options { get; }

    /// <summary>A snapshot of the stored entries, in arrival order.</summary>
    public IReadOnlyList<StoredEntry> Entries => _store.Snapshot();

    /// <summary>Forgets every stream (kept entries stay), as Loki does once streams have been idle past their flush: room under the stream limit again.</summary>
    public void ForgetStreams() => _store.ForgetStreams();

    /// <summary>How many entries are stored.</summary>
    public int EntryCount => _store.Count;

    /// <summary>A snapshot of every push request answered (scripted ones included), in order.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => _requests.Snapshot();

    /// <summary>
    /// Exact duplicates (same tenant, stream, timestamp and line, and from 3.7 structured metadata) that were not stored
    /// again: those equal to their stream's last entry or to one still in its head block (see
    /// <see cref="LokiTestServerOptions.HeadBlockBytes"/>). An older copy is stored again, as Loki does.
    /// </summary>
    public long DuplicatesDropped => _store.DuplicatesDropped;

    /// <summary>Client connections open now.</summary>
    public int OpenConnections => _connections.Open;

    /// <summary>Requests to the buildinfo path so far, failed ones included.</summary>
    public int BuildInfoRequests => Volatile.Read(ref _buildInfoRequests);

    /// <summary>Bytes of <see cref="ScriptedResponse.GeneratedBody"/> answers written so far (to the socket, not necessarily read).</summary>
    public long GeneratedBodyBytesSent => _push.GeneratedBytesSent;

    /// <summary>Starts a server on 127.0.0.1 with <paramref name="options"/> (the defaults when null).</summary>
    public static async Task<LokiTestServer> StartAsync(LokiTestServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new LokiTestServer(options ?? new LokiTestServerOptions());
        await server.StartHostAsync(server.Options.Port, cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>Queues answers for the next push requests, in order, given instead of processing them.</summary>
    public void Enqueue(params ScriptedResponse[] responses)
    {
        ArgumentNullException.ThrowIfNull(responses);
        _scripts.Enqueue(responses);
    }

    /// <summary>Scripted answers not yet taken by a push request. A push takes its answer as soon as its body has arrived.</summary>
    public int QueuedScripts => _scripts.Count;

    /// <summary>Drops the scripted answers not yet taken: later pushes are processed as usual.</summary>
    public void ClearScripts() => _scripts.Clear();

    /// <summary>True once <see cref="EntryCount"/> reaches <paramref name="count"/>; false when <paramref name="timeout"/> passes first.</summary>
    public Task<bool> WaitForEntriesAsync(int count, TimeSpan timeout) => _store.WaitForCountAsync(count, timeout);

    /// <summary>
    /// True once no client connection is open; false when <paramref name="timeout"/> passes first. After a client process
    /// was killed, this is the moment every request it had sent has been answered and recorded.
    /// </summary>
    public Task<bool> WaitForNoConnectionsAsync(TimeSpan timeout) => _connections.WaitForNoneAsync(timeout);

    /// <summary>Goes down: stops listening (new connections are refused) and drops requests held by a stall.</summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopHostAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Comes back on the same port, keeping the stored entries, requests and queued scripts.</summary>
    public async Task RestartAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            await StopHostAsync().ConfigureAwait(false);
            await StartHostAsync(BaseAddress.Port, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the server for good.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            await StopHostAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StartHostAsync(int port, CancellationToken cancellationToken)
    {
        // No defaults: no logging providers, no configuration sources, nothing but Kestrel and one delegate.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Use(_connections.Track));
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);

        var app = builder.Build();
        var stopping = _stopping.Token;
        app.Run(context => DispatchAsync(context, stopping));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri($"http://127.0.0.1:{new Uri(address).Port}/");
        _app = app;
    }

    private async Task StopHostAsync()
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _stopping = new CancellationTokenSource();
    }

    private Task DispatchAsync(HttpContext context, CancellationToken stopping)
    {
        var path = context.Request.Path.Value ?? "";
        var method = context.Request.Method;
        if (path == "/login" && HttpMethods.IsGet(method))
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync(LokiMessages.LoginPage, context.RequestAborted);
        }

        if (_prefix.Length > 0)
        {
            path = path.StartsWith(_prefix + "/", StringComparison.Ordinal) ? path[_prefix.Length..] : "";
        }

        if (path == "/loki/api/v1/push" && HttpMethods.IsPost(method))
        {
            return _push.HandleAsync(context, stopping);
        }

        if (path == "/loki/api/v1/query_range" && HttpMethods.IsGet(method))
        {
            return _queryRange.HandleAsync(context);
        }

        if (path == "/loki/api/v1/status/buildinfo" && HttpMethods.IsGet(method))
        {
            if (Interlocked.Increment(ref _buildInfoRequests) <= Options.BuildInfoFailures)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.ContentType = "text/plain; charset=utf-8";
                return context.Response.WriteAsync("Internal Server Error\n", context.RequestAborted);
            }

            if (Options.Version is { } version)
            {
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["version"] = version }), context.RequestAborted);
            }
        }

        if (path == "/ready" && HttpMethods.IsGet(method))
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync("ready\n", context.RequestAborted);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return context.Response.WriteAsync("404 page not found\n", context.RequestAborted);
    }

    // "/loki/" and "loki" both mean "/loki"; "" and "/" mean no prefix.
    private static string NormalizePrefix(string? prefix)
    {
        var trimmed = (prefix ?? "").Trim('/');
        return trimmed.Length == 0 ? "" : "/" + trimmed;
    }
}
