using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using LogPersist.PackageChecks;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

// Runs a program built for users against the Loki-compatible test server and checks what arrived.
//
//   LogPersist.PackageChecks packages <folder> <version>
//       the packed .nupkg and .snupkg files: metadata, README, dependencies, symbols and SourceLink.
//   LogPersist.PackageChecks webapi <WebApiConsumer.dll> [<logpersist tool>]
//       the web API installed from the packed packages: configured from its appsettings.json, driven
//       over HTTP, stopped with SIGTERM; then, with the tool installed from its package,
//       `logpersist verify` on the WAL the application left.
//   LogPersist.PackageChecks serilog <SerilogWorkerConsumer.dll> [count]
//       the Serilog worker installed from the packed packages, its sink configured from JSON.
//   LogPersist.PackageChecks aot <LogPersist.AotSmoke binary> [count]
//       the Native AOT console application: logs count entries through the provider and exits.
//   LogPersist.PackageChecks run <logpersist binary> [count]
//       the tool published as a native binary (what a Ray image copies in): `logpersist run` around a
//       shell printing count lines.
//
// Exit code 0 when every check passed, 1 when one failed (each failure is printed), 2 on bad arguments.
if (args is ["packages", var folder, var packedVersion])
{
    var inspection = new Checks();
    PackageInspection.Check(inspection, folder, packedVersion, deterministic: Environment.GetEnvironmentVariable("CI") == "true");
    return inspection.Report();
}

var count = 1000;
if (args.Length < 2 || args[0] is not ("webapi" or "serilog" or "aot" or "run")
    || (args.Length > 2 && args[0] != "webapi" && !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out count)))
{
    Console.Error.WriteLine("usage: LogPersist.PackageChecks packages <folder> <version> | webapi <WebApiConsumer.dll> [<logpersist>] | serilog <dll> [count] | aot <binary> [count] | run <logpersist> [count]");
    return 2;
}

var checks = new Checks();
await using var server = await TestServer.StartAsync();
var work = Directory.CreateTempSubdirectory("logpersist-package-check-");
try
{
    var target = Path.GetFullPath(args[1]);
    await (args[0] switch
    {
        "webapi" => CheckWebApiAsync(target, args.Length > 2 ? Path.GetFullPath(args[2]) : null),
        "serilog" => CheckLoggingRunAsync("dotnet", [target], count, "consumer-worker", native: false),
        "aot" => CheckLoggingRunAsync(target, [], count, "aot-smoke", native: true),
        _ => CheckRunAsync(target, count),
    });
}
finally
{
    work.Delete(recursive: true);
}

return checks.Report();

async Task CheckWebApiAsync(string application, string? tool)
{
    const int Orders = 20;
    var port = FreePort();
    var baseAddress = new Uri($"http://127.0.0.1:{port}/");
    var wal = Path.Combine(work.FullName, "wal");
    using var child = new ChildProcess(
        "dotnet",
        [application],
        Path.GetDirectoryName(application)!,
        new Dictionary<string, string>
        {
            ["LOKI_URL"] = server.BaseAddress.ToString(),
            ["ASPNETCORE_URLS"] = baseAddress.ToString(),
            ["Logging__LogPersist__Directory"] = wal,
            ["POD_NAMESPACE"] = "checks",
        });

    using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
    var health = await WaitForHealthAsync(http, child, TimeSpan.FromSeconds(60));
    checks.That(health == "Healthy", $"/healthz answers Healthy once the application is up (it answered {health ?? "nothing"})");
    if (health is null)
    {
        Console.Error.WriteLine(child.Output);
        return;
    }

    var answered = 0;
    for (var id = 1; id <= Orders; id++)
    {
        using var response = await http.GetAsync(new Uri($"orders/{id}", UriKind.Relative));
        answered += response.IsSuccessStatusCode ? 1 : 0;
    }

    checks.That(answered == Orders, $"GET /orders/1..{Orders} answer 200 (answered: {answered})");

    child.Terminate();
    var exited = await child.WaitForExitAsync(TimeSpan.FromSeconds(30));
    checks.That(exited && child.ExitCode == 0, $"the application stops on SIGTERM with exit code 0 (exited: {exited}, code: {(exited ? child.ExitCode : -1)})");

    // The application has exited: what it shipped has arrived. Hosting's own entries are counted too.
    var entries = server.Entries;
    var served = entries.Where(e => Field(e.Line, "category") == "Consumer.Orders").ToList();
    checks.That(served.Count == Orders, $"{Orders} 'Consumer.Orders' entries arrived (arrived: {served.Count})");
    var ids = served.Select(e => Field(e.Line, "msg")).Distinct(StringComparer.Ordinal).Count();
    checks.That(ids == Orders, $"each order's entry arrived once (distinct: {ids})");
    checks.That(
        served.All(e => e.LabelMap.GetValueOrDefault("service_name") == "consumer-api" && e.LabelMap.GetValueOrDefault("env") == "package-check"),
        "entries carry service_name and env from the Logging:LogPersist section of appsettings.json");
    checks.That(
        served.All(e => e.LabelMap.GetValueOrDefault("level") == "info"),
        "entries carry the level label that section turns on (LevelLabel, off by default)");
    checks.That(
        served.All(e => e.LabelMap.GetValueOrDefault("namespace") == "checks"),
        "entries carry the namespace from POD_NAMESPACE");
    var chatty = entries.Count(e => Field(e.Line, "category") == "Consumer.Chatty");
    checks.That(chatty == 0, $"the provider's own filter (Logging:LogPersist:LogLevel) applies: no 'Consumer.Chatty' Information entries (arrived: {chatty})");
    var aspNet = entries.Count(e => Field(e.Line, "category")?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true && Field(e.Line, "level") == "info");
    checks.That(aspNet == 0, $"no Microsoft.AspNetCore Information entries, as the section says (arrived: {aspNet})");
    checks.That(server.Requests.All(r => r.ContentType == "application/x-protobuf" && r.ContentEncoding is null), "pushes are snappy-compressed protobuf");

    if (tool is null)
    {
        return;
    }

    var walDirectory = Directory.EnumerateFiles(wal, "wal.owner", SearchOption.AllDirectories).Select(Path.GetDirectoryName).SingleOrDefault();
    checks.That(walDirectory is not null, $"the application left one WAL directory under {wal}");
    if (walDirectory is null)
    {
        return;
    }

    using var verify = new ChildProcess(tool, ["verify", walDirectory!], work.FullName, new Dictionary<string, string>());
    var verified = await verify.WaitForExitAsync(TimeSpan.FromSeconds(60));
    checks.That(verified && verify.ExitCode == 0, $"`logpersist verify` from the tool package finds the WAL intact (exit {(verified ? verify.ExitCode : -1)}):{Environment.NewLine}{verify.Output.TrimEnd()}");
}

// A program that logs count entries tagged with a run id and exits: the Serilog worker, the AOT binary.
async Task CheckLoggingRunAsync(string fileName, IReadOnlyList<string> arguments, int count, string service, bool native)
{
    var run = Guid.NewGuid().ToString("N")[..12];
    var program = fileName == "dotnet" ? arguments[0] : fileName;
    using var child = new ChildProcess(
        fileName,
        [.. arguments, count.ToString(CultureInfo.InvariantCulture), run],
        work.FullName,
        new Dictionary<string, string>
        {
            ["LOKI_URL"] = server.BaseAddress.ToString(),
            ["Logging__LogPersist__Directory"] = Path.Combine(work.FullName, "wal"),
            ["Serilog__WriteTo__0__Args__directory"] = Path.Combine(work.FullName, "wal"),
        });

    // When the first push is accepted, as this process sees it: polled, so within a few milliseconds.
    TimeSpan? firstAccepted = null;
    while (child.Started.Elapsed < TimeSpan.FromSeconds(60))
    {
        var exitedBefore = child.HasExited;
        if (server.EntryCount > 0)
        {
            // Seen only after the program had exited: its time is not known.
            firstAccepted = exitedBefore ? null : child.Started.Elapsed;
            break;
        }

        if (exitedBefore)
        {
            break;
        }

        await Task.Delay(2);
    }

    var exited = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
    checks.That(exited && child.ExitCode == 0, $"the program exits 0 (exited: {exited}, code: {(exited ? child.ExitCode : -1)}){Environment.NewLine}{child.Output.TrimEnd()}");
    await server.WaitForEntriesAsync(count, TimeSpan.FromSeconds(15));

    var mine = server.Entries.Where(e => e.Line.Contains(run, StringComparison.Ordinal)).ToList();
    checks.That(mine.Count == count, $"{count} entries of this run arrived (arrived: {mine.Count})");
    var distinct = mine.Select(e => Field(e.Line, "msg")).Distinct(StringComparer.Ordinal).Count();
    checks.That(distinct == count, $"each entry arrived once (distinct messages: {distinct})");
    checks.That(mine.All(e => e.LabelMap.GetValueOrDefault("service_name") == service), $"entries carry service_name=\"{service}\"");
    if (!native)
    {
        checks.That(mine.All(e => e.LabelMap.GetValueOrDefault("env") == "package-check"), "entries carry the env label the JSON configuration gives");
    }

    checks.That(server.DuplicatesDropped == 0, $"nothing was sent twice (duplicates: {server.DuplicatesDropped})");

    var reported = child.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("first-log-call-ms=", StringComparison.Ordinal));
    if (native)
    {
        // A JIT build given here by mistake would ship the same entries.
        var runtimes = mine.Select(e => Field(e.Line, "runtime")).Distinct(StringComparer.Ordinal).ToList();
        checks.That(runtimes is ["aot"], $"every entry says it came from Native AOT code (runtime: {string.Join(", ", runtimes)})");
        checks.That(reported is not null, "the binary reports when its first log call returned");
        checks.That(
            child.Output.Contains("LogPersist Informational: WAL '", StringComparison.Ordinal),
            "LogPersist's self-log works in the native binary (EventSourceSupport=true): it reported the WAL it opened");
    }

    var size = native ? $"binary: {new FileInfo(program).Length} bytes; " : "";
    var accepted = firstAccepted is { } t ? $"{t.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture)} ms after start" : "not observed before the program exited";
    Console.WriteLine($"{size}{reported ?? "first-log-call-ms not reported"}; first push accepted {accepted}");
}

async Task CheckRunAsync(string tool, int lines)
{
    var run = Guid.NewGuid().ToString("N")[..12];
    var script = $"i=0; while [ $i -lt {lines} ]; do echo \"line $i of {run}\"; i=$((i+1)); done; echo \"done {run}\" >&2";
    using var child = new ChildProcess(
        tool,
        ["run", "--directory", Path.Combine(work.FullName, "wal"), "--service", "ray-worker", "--", "sh", "-c", script],
        work.FullName,
        new Dictionary<string, string> { ["LOKI_URL"] = server.BaseAddress.ToString() });
    var exited = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
    checks.That(exited && child.ExitCode == 0, $"`logpersist run` exits with its child's code 0 (exited: {exited}, code: {(exited ? child.ExitCode : -1)})");
    await server.WaitForEntriesAsync(lines + 1, TimeSpan.FromSeconds(15));

    var mine = server.Entries.Where(e => e.Line.Contains(run, StringComparison.Ordinal)).ToList();
    checks.That(mine.Count == lines + 1, $"every line of the child's stdout and stderr arrived: {lines} + 1 (arrived: {mine.Count})");
    checks.That(mine.All(e => e.LabelMap.GetValueOrDefault("service_name") == "ray-worker"), "entries carry service_name=\"ray-worker\"");
    checks.That(server.DuplicatesDropped == 0, $"nothing was sent twice (duplicates: {server.DuplicatesDropped})");
    Console.WriteLine($"binary: {new FileInfo(tool).Length} bytes");
}

static async Task<string?> WaitForHealthAsync(HttpClient http, ChildProcess child, TimeSpan timeout)
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < timeout && !child.HasExited)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && body == "Healthy")
            {
                return body;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Not listening yet, or too slow to answer on a loaded machine: ask again.
        }

        await Task.Delay(200);
    }

    return null;
}

static string? Field(string line, string name)
{
    try
    {
        using var json = JsonDocument.Parse(line);
        return json.RootElement.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
            : null;
    }
    catch (JsonException)
    {
        return null;
    }
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>Collects the outcome of each check and prints it.</summary>
internal sealed class Checks
{
    private int _failed;
    private int _passed;

    public void That(bool condition, string description)
    {
        if (condition)
        {
            _passed++;
            Console.WriteLine($"ok    {description}");
        }
        else
        {
            _failed++;
            Console.WriteLine($"FAIL  {description}");
        }
    }

    public int Report()
    {
        Console.WriteLine($"checks: {_passed} passed, {_failed} failed");
        return _failed == 0 ? 0 : 1;
    }
}
