using System.Collections;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LogPersist.Tests.Support;

/// <summary>
/// The variables LogPersist reads to learn where it runs (the pod's identity from the downward API, the
/// OpenTelemetry resource, Loki's address and credentials) and the host's own configuration. A test run inside a
/// Kubernetes pod or a CI job that sets them must test what a run on a laptop tests, so every test process starts
/// without them (a module initializer clears them before the first test) and so does every child process a test
/// starts. A test that needs one passes it explicitly: <c>LogPersistOptions.Environment</c>, or the child's
/// <see cref="ProcessStartInfo.Environment"/>.
/// </summary>
internal static class TestEnvironment
{
    private static readonly string[] Prefixes = ["POD_", "OTEL_", "LOKI_", "Logging__", "Serilog__"];
    private static readonly string[] Names = ["HOSTNAME", "CONTAINER_NAME", "NODE_NAME"];

    /// <summary>True for a variable tests must not inherit.</summary>
    public static bool IsCleared(string name) =>
        Names.Contains(name, StringComparer.Ordinal) || Prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Removes the cleared variables from a child's environment (before the test adds its own).</summary>
    public static void Clear(IDictionary<string, string?> environment)
    {
        foreach (var name in environment.Keys.Where(IsCleared).ToList())
        {
            environment.Remove(name);
        }
    }

#pragma warning disable CA2255 // Test code is the one place a module initializer belongs: it runs before any test reads the environment.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void ClearThisProcess()
    {
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string name && IsCleared(name))
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }
}
