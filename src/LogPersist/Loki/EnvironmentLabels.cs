using System.Reflection;

namespace LogPersist.Loki;

/// <summary>
/// The static stream labels detected from the environment a service runs in:
/// <c>service_name</c> (<c>OTEL_SERVICE_NAME</c>, else <c>service.name</c> of
/// <c>OTEL_RESOURCE_ATTRIBUTES</c>, else the entry assembly's name), <c>namespace</c>
/// (<c>POD_NAMESPACE</c>, else <c>k8s.namespace.name</c>), <c>pod</c> (<c>POD_NAME</c>, else
/// <c>k8s.pod.name</c>, else <c>HOSTNAME</c>, else the machine name) and <c>container</c>
/// (<c>CONTAINER_NAME</c>, else <c>k8s.container.name</c>).
/// </summary>
internal static class EnvironmentLabels
{
    public const string ServiceName = "service_name";
    public const string Namespace = "namespace";
    public const string Instance = "pod";
    public const string Container = "container";

    public static List<KeyValuePair<string, string?>> Detect(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var resource = ParseResourceAttributes(environment("OTEL_RESOURCE_ATTRIBUTES"));
        string? Resource(string key) => resource.TryGetValue(key, out var value) ? value : null;

        return
        [
            new(ServiceName, FirstOf(environment("OTEL_SERVICE_NAME"), Resource("service.name"), Assembly.GetEntryAssembly()?.GetName().Name, "unknown_service")),
            new(Namespace, FirstOf(environment("POD_NAMESPACE"), Resource("k8s.namespace.name"))),
            new(Instance, FirstOf(environment("POD_NAME"), Resource("k8s.pod.name"), environment("HOSTNAME"), Environment.MachineName)),
            new(Container, FirstOf(environment("CONTAINER_NAME"), Resource("k8s.container.name"))),
        ];
    }

    /// <summary>Parses <c>key1=value1,key2=value2</c> with percent-encoded values, as the OpenTelemetry specification defines it; malformed pairs are skipped.</summary>
    public static Dictionary<string, string> ParseResourceAttributes(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return result;
        }

        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var key = pair[..equals].Trim();
            var value = pair[(equals + 1)..].Trim();
            try
            {
                value = Uri.UnescapeDataString(value);
            }
            catch (UriFormatException)
            {
                continue;
            }

            result[key] = value;
        }

        return result;
    }

    private static string? FirstOf(params string?[] candidates) =>
        candidates.FirstOrDefault(c => !string.IsNullOrWhiteSpace(c));
}
