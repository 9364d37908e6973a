using System.Diagnostics;
using System.Globalization;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// Wall-clock throughput of <c>logpersist run</c>: a child prints N lines of about 100 bytes as fast as
/// it can, the wrapper records each in a fresh WAL (no Loki) and passes the output to /dev/null. The
/// peer, in the same round, is the same child writing to /dev/null directly, so the ratio is what the
/// wrapper costs. Each wrapper round also checks that the WAL holds all N entries, and reports the
/// wrapper's peak RSS and CPU time (from /usr/bin/time).
/// </summary>
internal static class RunThroughputHarness
{
    public static int Run(int lines, int rounds, string? tool)
    {
        tool ??= DefaultTool();
        if (!File.Exists(tool))
        {
            Console.Error.WriteLine($"{tool} not found; build it first: dotnet build src/LogPersist.Cli -c Release");
            return 2;
        }

        // 9 digits, a space and 90 letters: 101 bytes with the newline.
        var child = $"awk 'BEGIN {{ pad = sprintf(\"%90s\", \"\"); gsub(/ /, \"x\", pad); for (i = 0; i < {lines}; i++) printf \"%09d %s\\n\", i, pad }}'";
        Console.WriteLine($"child: {child}");
        for (var round = 1; round <= rounds; round++)
        {
            var peer = Time($"{child} > /dev/null");
            Report("peer: child > /dev/null", round, lines, peer.Seconds, null);

            var root = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
            try
            {
                var wrapped = Time($"/usr/bin/time -f 'rss_kib=%M user_s=%U sys_s=%S' dotnet '{tool}' run --directory '{root}' --service bench --instance round{round} -- /bin/sh -c \"{child.Replace("\"", "\\\"", StringComparison.Ordinal)}\" > /dev/null");
                var recorded = CountEntries(Path.Combine(root, "default", "bench", $"round{round}"));
                Report("logpersist run (WAL only, PageCache)", round, lines, wrapped.Seconds, $"ratio {wrapped.Seconds / peer.Seconds:F2}x the peer's time; {wrapped.Stderr.Trim()}; WAL entries {recorded}{(recorded == lines ? "" : " MISSING")}");
            }
            finally
            {
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, recursive: true);
                }
            }
        }

        return 0;
    }

    private static (double Seconds, string Stderr) Time(string shell)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(shell);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var seconds = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{shell}' exited with {process.ExitCode}: {stderr}");
        }

        return (seconds, stderr);
    }

    private static long CountEntries(string directory)
    {
        using var reader = new WalReader(new System.IO.Abstractions.FileSystem(), directory, WalPosition.Start, long.MaxValue);
        long count = 0;
        while (reader.TryRead(out var record))
        {
            count += record.Kind == RecordKind.Data ? 1 : 0;
        }

        return count;
    }

    private static void Report(string what, int round, int lines, double seconds, string? detail) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"round {round} {what}: {lines / seconds / 1e6:F3} M lines/s ({seconds:F2} s){(detail is null ? "" : "; " + detail)}"));

    /// <summary>The Release build of the tool in this repository.</summary>
    private static string DefaultTool()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LogPersist.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? ".", "src", "LogPersist.Cli", "bin", "Release", "net10.0", "LogPersist.Cli.dll");
    }
}
