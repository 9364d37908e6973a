using System.Diagnostics;

namespace LogPersist.Tests.Support;

/// <summary>The <c>logpersist</c> tool as a process of its own, for tests that signal or kill it.</summary>
internal static class ToolProcess
{
    /// <summary>
    /// Starts <c>logpersist ARGS</c> with redirected streams, in the test environment (no LOKI_*
    /// variables from the machine) plus <paramref name="environment"/>. Standard output is left to
    /// the caller; standard error too when <paramref name="readStderr"/> is false.
    /// </summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, bool readStderr = true)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var start = new ProcessStartInfo(string.IsNullOrEmpty(host) ? "dotnet" : host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "LogPersist.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        TestEnvironment.Clear(start.Environment);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("logpersist did not start");
        if (readStderr)
        {
            _ = process.StandardError.ReadToEndAsync();
        }

        return process;
    }
}
