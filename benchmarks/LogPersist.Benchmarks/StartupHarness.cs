using System.Diagnostics;
using System.Globalization;
using LogPersist.LokiTestServer;

namespace LogPersist.Benchmarks;

/// <summary>
/// Start-up of an application logging through the provider, Native AOT against the JIT: the same
/// program (tests/LogPersist.AotSmoke) published both ways, started alternately in the same round
/// against one in-process test server, each with a fresh WAL directory. Per start it records the
/// program's own report of when its first log call returned (time since the process started) and,
/// from outside, when the test server first accepted a push and when the process exited after its
/// flush. Medians over the rounds, and AOT as a fraction of the JIT. One untimed start of each comes
/// first. The first column's origin is the kernel's process start (read by the program), the other
/// two start at <see cref="Process.Start()"/> in this process, a little earlier.
/// </summary>
internal static class StartupHarness
{
    public static async Task<int> RunAsync(string aotBinary, string jitAssembly, int rounds)
    {
        foreach (var file in new[] { aotBinary, jitAssembly })
        {
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"{file} not found; publish it first (see benchmarks/results/aot-startup.md)");
                return 2;
            }
        }

        await using var server = await LokiTestServer.LokiTestServer.StartAsync();
        var aot = new List<Sample>();
        var jit = new List<Sample>();
        Console.WriteLine($"AOT binary: {new FileInfo(aotBinary).Length / 1024.0 / 1024.0:F1} MiB; rounds: {rounds}");

        // Untimed: the test server's first request, and the first load of each program, would
        // otherwise land on whichever round 1 starts first.
        await StartOnceAsync(server, aotBinary, []);
        await StartOnceAsync(server, "dotnet", [jitAssembly]);
        for (var round = 1; round <= rounds; round++)
        {
            // Alternate which goes first, so neither always meets a warmer page cache.
            var order = round % 2 == 1 ? new[] { true, false } : [false, true];
            foreach (var isAot in order)
            {
                var sample = await StartOnceAsync(server, isAot ? aotBinary : "dotnet", isAot ? [] : [jitAssembly]);
                (isAot ? aot : jit).Add(sample);
                Console.WriteLine($"round {round} {(isAot ? "AOT" : "JIT")}: first log call {sample.FirstLogCallMs:F1} ms, first push accepted {sample.FirstAcceptedMs:F1} ms, exited {sample.ExitedMs:F1} ms");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| median over rounds | Native AOT | JIT | AOT / JIT |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row("process start to first log call returned", aot.Select(s => s.FirstLogCallMs), jit.Select(s => s.FirstLogCallMs));
        Row("process start to first push accepted", aot.Select(s => s.FirstAcceptedMs), jit.Select(s => s.FirstAcceptedMs));
        Row("process start to exit (after its flush)", aot.Select(s => s.ExitedMs), jit.Select(s => s.ExitedMs));
        return 0;
    }

    private static async Task<Sample> StartOnceAsync(LokiTestServer.LokiTestServer server, string fileName, IReadOnlyList<string> arguments)
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var root = Path.Combine(Path.GetTempPath(), "logpersist-bench", run);
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("1");
        start.ArgumentList.Add(run);
        start.Environment["LOKI_URL"] = server.BaseAddress.ToString();
        start.Environment["Logging__LogPersist__Directory"] = root;
        var before = server.EntryCount;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        var accepted = double.NaN;
        while (!process.HasExited || server.EntryCount > before)
        {
            if (server.EntryCount > before)
            {
                accepted = clock.Elapsed.TotalMilliseconds;
                break;
            }

            await Task.Delay(1);
        }

        await process.WaitForExitAsync();
        var exited = clock.Elapsed.TotalMilliseconds;
        if (double.IsNaN(accepted) && server.EntryCount > before)
        {
            accepted = exited;
        }

        var reported = (await output).Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("first-log-call-ms=", StringComparison.Ordinal));
        if (process.ExitCode != 0 || reported is null)
        {
            throw new InvalidOperationException($"{fileName} exited {process.ExitCode} without its report: {await errors}");
        }

        Directory.Delete(root, recursive: true);
        return new Sample(double.Parse(reported["first-log-call-ms=".Length..], CultureInfo.InvariantCulture), accepted, exited);
    }

    private static void Row(string name, IEnumerable<double> aot, IEnumerable<double> jit)
    {
        var a = Median(aot);
        var j = Median(jit);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {a:F1} ms | {j:F1} ms | {a / j:F2} |"));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record Sample(double FirstLogCallMs, double FirstAcceptedMs, double ExitedMs);
}
