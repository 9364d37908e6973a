using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LogPersist.KubernetesTestServer;

/// <summary>
/// The pod endpoints of a Kubernetes API server, as the client uses them: list (with a label selector),
/// watch (<c>watch=true</c> from a resource version, streaming one JSON event per line) and get by name,
/// on Kestrel at 127.0.0.1. Scriptable: pods are added, deleted and re-created under new UIDs; every
/// request can be refused with a status or left hanging; watches can be dropped, and the history
/// compacted so that a watch from before it is answered 410 Gone.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Pod> _pods = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Type, Pod Pod)> _history = [];
    private readonly List<(Channel<string> Events, HttpContext Context)> _watchers = [];
    private readonly List<string> _watchVersions = [];
    private readonly Dictionary<string, int> _reads = new(StringComparer.Ordinal);
    private long _version = 100;
    private long _compactedBelow;
    private int _lists;
    private HttpStatusCode? _refusal;
    private TaskCompletionSource? _hang;
    private WebApplication? _app;

    private sealed record Pod(string Name, string Uid, string Phase, long Version, IReadOnlyDictionary<string, string> Labels);

    public const string Namespace = "default";

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Lists answered so far.</summary>
    public int Lists => Volatile.Read(ref _lists);

    /// <summary>The resource version each watch asked to start from, in order.</summary>
    public IReadOnlyList<string> WatchVersions
    {
        get
        {
            lock (_lock)
            {
                return [.. _watchVersions];
            }
        }
    }

    /// <summary>The label selector of the last list or watch.</summary>
    public string? LastSelector { get; private set; }

    /// <summary>Reads of one pod by name so far.</summary>
    public int Reads(string name)
    {
        lock (_lock)
        {
            return _reads.GetValueOrDefault(name);
        }
    }

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var api = new FakeKubernetesApi();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(api.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        api.BaseAddress = new Uri($"http://127.0.0.1:{new Uri(address).Port}/");
        api._app = app;
        return api;
    }

    /// <summary>Adds a running pod; returns its UID.</summary>
    public string Add(string name, string? uid = null, string phase = "Running")
    {
        lock (_lock)
        {
            var pod = new Pod(name, uid ?? Guid.NewGuid().ToString(), phase, ++_version, new Dictionary<string, string> { ["app"] = "orders" });
            _pods[name] = pod;
            Publish("ADDED", pod);
            return pod.Uid;
        }
    }

    public void Delete(string name)
    {
        lock (_lock)
        {
            if (_pods.Remove(name, out var pod))
            {
                Publish("DELETED", pod with { Version = ++_version });
            }
        }
    }

    /// <summary>Deletes the pod and creates one of the same name under a new UID, as a StatefulSet does; returns the new UID.</summary>
    public string Recreate(string name)
    {
        Delete(name);
        return Add(name);
    }

    public void SetPhase(string name, string phase)
    {
        lock (_lock)
        {
            var pod = _pods[name] with { Phase = phase, Version = ++_version };
            _pods[name] = pod;
            Publish("MODIFIED", pod);
        }
    }

    /// <summary>Answers every request with <paramref name="status"/> from now on; null answers again.</summary>
    public void Refuse(HttpStatusCode? status) => _refusal = status;

    /// <summary>Leaves every request unanswered from now on, until <see cref="Answer"/>.</summary>
    public void Hang()
    {
        lock (_lock)
        {
            _hang ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Answer()
    {
        lock (_lock)
        {
            _hang?.TrySetResult();
            _hang = null;
        }
    }

    /// <summary>Cuts every open watch connection.</summary>
    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var (_, context) in _watchers)
            {
                context.Abort();
            }

            _watchers.Clear();
        }
    }

    /// <summary>Forgets the history up to now: a watch from an earlier version is answered 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            // As etcd's compaction does, the store's version moves on: what any watch holds is now too old.
            _compactedBelow = ++_version;
            _history.Clear();
        }
    }

    private void Publish(string type, Pod pod)
    {
        _history.Add((pod.Version, type, pod));
        var line = Event(type, PodJson(pod));
        foreach (var (events, _) in _watchers)
        {
            events.Writer.TryWrite(line);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Task? hang;
        lock (_lock)
        {
            hang = _hang?.Task;
        }

        if (hang is not null)
        {
            try
            {
                await hang.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (_refusal is { } refusal)
        {
            await WriteStatusAsync(context, refusal, refusal.ToString());
            return;
        }

        var path = context.Request.Path.Value ?? "";
        var prefix = $"/api/v1/namespaces/{Namespace}/pods";
        if (path == prefix)
        {
            LastSelector = context.Request.Query["labelSelector"];
            if (context.Request.Query["watch"] == "true")
            {
                await WatchAsync(context);
            }
            else
            {
                await ListAsync(context);
            }
        }
        else if (path.StartsWith(prefix + "/", StringComparison.Ordinal))
        {
            var name = path[(prefix.Length + 1)..];
            Pod? pod;
            lock (_lock)
            {
                _reads[name] = _reads.GetValueOrDefault(name) + 1;
                pod = _pods.GetValueOrDefault(name);
            }

            if (pod is null)
            {
                await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound");
            }
            else
            {
                await WriteJsonAsync(context, PodJson(pod));
            }
        }
        else
        {
            await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound");
        }
    }

    private async Task ListAsync(HttpContext context)
    {
        JsonObject list;
        lock (_lock)
        {
            var items = new JsonArray([.. _pods.Values.Where(p => Selected(p, LastSelector)).Select(PodJson)]);
            list = new JsonObject
            {
                ["kind"] = "PodList",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                ["items"] = items,
            };
        }

        Interlocked.Increment(ref _lists);
        await WriteJsonAsync(context, list);
    }

    private async Task WatchAsync(HttpContext context)
    {
        var from = long.Parse(context.Request.Query["resourceVersion"].ToString() is { Length: > 0 } v ? v : "0", CultureInfo.InvariantCulture);
        var selector = LastSelector;
        var events = Channel.CreateUnbounded<string>();
        lock (_lock)
        {
            _watchVersions.Add(from.ToString(CultureInfo.InvariantCulture));
            if (from < _compactedBelow)
            {
                events.Writer.TryWrite(Event("ERROR", new JsonObject
                {
                    ["kind"] = "Status",
                    ["apiVersion"] = "v1",
                    ["status"] = "Failure",
                    ["message"] = $"too old resource version: {from} ({_compactedBelow})",
                    ["reason"] = "Expired",
                    ["code"] = 410,
                }));
                events.Writer.TryComplete();
            }
            else
            {
                foreach (var (version, type, pod) in _history.Where(h => h.Version > from && Selected(h.Pod, selector)))
                {
                    events.Writer.TryWrite(Event(type, PodJson(pod)));
                }

                _watchers.Add((events, context));
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            await foreach (var line in events.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_lock)
            {
                _watchers.RemoveAll(w => w.Events == events);
            }
        }
    }

    private static bool Selected(Pod pod, string? selector) =>
        string.IsNullOrEmpty(selector) || selector.Split(',').All(term => term.Split('=') is [var key, var value] && pod.Labels.GetValueOrDefault(key) == value);

    private static JsonObject PodJson(Pod pod) => new()
    {
        ["kind"] = "Pod",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = pod.Name,
            ["namespace"] = Namespace,
            ["uid"] = pod.Uid,
            ["resourceVersion"] = pod.Version.ToString(CultureInfo.InvariantCulture),
            ["labels"] = new JsonObject([.. pod.Labels.Select(l => KeyValuePair.Create<string, JsonNode?>(l.Key, l.Value))]),
        },
        ["status"] = new JsonObject { ["phase"] = pod.Phase },
    };

    private static string Event(string type, JsonObject item) =>
        new JsonObject { ["type"] = type, ["object"] = item }.ToJsonString();

    private static async Task WriteJsonAsync(HttpContext context, JsonNode body)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8, context.RequestAborted);
    }

    private static Task WriteStatusAsync(HttpContext context, HttpStatusCode status, string reason)
    {
        context.Response.StatusCode = (int)status;
        return WriteJsonAsync(context, new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["status"] = "Failure",
            ["message"] = $"fake API server: {reason}",
            ["reason"] = reason,
            ["code"] = (int)status,
        });
    }

    public async ValueTask DisposeAsync()
    {
        Answer();
        DropWatches();
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
