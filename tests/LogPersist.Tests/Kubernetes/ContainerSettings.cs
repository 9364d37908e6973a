extern alias KubernetesFull;

using System.CommandLine;
using System.Globalization;
using KubernetesFull::k8s.Models;
using LogPersist.Cli;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace LogPersist.Tests.Kubernetes;

/// <summary>
/// What a container of a manifest runs with: the LogPersist settings it ends up with and how long it
/// waits on SIGTERM. A container is either the <c>logpersist</c> tool (its command line is read with
/// the tool's own parser) or the sample orders API (its settings are samples/WebApi/appsettings.json
/// overlaid with the container's environment, as the host layers them).
/// </summary>
internal sealed class ContainerSettings
{
    private readonly IConfiguration? _app;

    private ContainerSettings(V1Container container, ToolCommand? tool, IConfiguration? app)
    {
        Container = container;
        Tool = tool;
        _app = app;
    }

    public V1Container Container { get; }

    /// <summary>The tool's command line, when the container runs <c>logpersist</c>.</summary>
    public ToolCommand? Tool { get; }

    /// <summary>The root of the WAL directories.</summary>
    public string WalRoot => Tool is { } tool
        ? tool.Value<string>("--directory") ?? Manifests.WalRoot
        : _app!["Logging:LogPersist:Directory"] ?? Manifests.WalRoot;

    /// <summary>How long LogPersist waits for Loki when it stops.</summary>
    public TimeSpan FlushTimeout => Tool is { } tool
        ? tool.Value<TimeSpan?>("--flush-timeout") ?? new LogPersistOptions().FlushTimeout
        : _app!["Logging:LogPersist:FlushTimeout"] is { } text ? TimeSpan.Parse(text, CultureInfo.InvariantCulture) : new LogPersistOptions().FlushTimeout;

    /// <summary>
    /// How long the process may take to stop before its final flush begins: the .NET host's
    /// shutdown timeout for the app; zero for the tool, whose child's stop time is not configured.
    /// </summary>
    public TimeSpan ShutdownWait => Tool is not null
        ? TimeSpan.Zero
        : _app!["shutdownTimeoutSeconds"] is { } seconds ? TimeSpan.FromSeconds(int.Parse(seconds, CultureInfo.InvariantCulture)) : new HostOptions().ShutdownTimeout;

    public bool AdoptOrphans => Tool is { } tool
        ? tool.AdoptOrphans
        : bool.TryParse(_app!["Logging:LogPersist:AdoptOrphans"], out var adopt) && adopt;

    /// <summary>Whether adoption asks the API server whether a pod is gone (<c>--kubernetes-liveness</c>, or the sample's <c>KubernetesLiveness:Enabled</c>).</summary>
    public bool KubernetesLiveness => Tool is { } tool
        ? tool.Value<bool>("--kubernetes-liveness")
        : bool.TryParse(_app!["KubernetesLiveness:Enabled"], out var on) && on;

    /// <summary>The label selector of the pods Kubernetes liveness watches; null for every pod of the namespace.</summary>
    public string? KubernetesLabelSelector => Tool is { } tool
        ? tool.Value<string>("--kubernetes-label-selector")
        : _app!["KubernetesLiveness:LabelSelector"];

    public WalDurability Durability => Tool is { } tool
        ? tool.Value<WalDurability?>("--durability") ?? new LogPersistOptions().Durability
        : _app!["Logging:LogPersist:Durability"] is { } text ? Enum.Parse<WalDurability>(text, ignoreCase: true) : new LogPersistOptions().Durability;

    public static ContainerSettings Of(V1Container container)
    {
        var commandLine = (container.Command ?? []).Concat(container.Args ?? []).ToList();
        if (commandLine.Count > 0 && Path.GetFileName(commandLine[0]) == "logpersist")
        {
            return new ContainerSettings(container, ToolCommand.Parse(commandLine.Skip(1).ToList()), null);
        }

        if (!container.Image.Contains("/orders-api:", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"Container {container.Name} runs neither logpersist nor the orders API ({container.Image}).");
        }

        return new ContainerSettings(container, null, AppConfiguration(container));
    }

    /// <summary>The value a container's environment gives a variable directly (not from a Secret or field).</summary>
    public static string? EnvValue(V1Container container, string name) =>
        container.Env?.FirstOrDefault(e => e.Name == name)?.Value;

    // appsettings.json, then the environment: DOTNET_ and ASPNETCORE_ variables without their prefix
    // (host settings), then every variable as is; "__" separates sections, keys ignore case.
    private static IConfiguration AppConfiguration(V1Container container)
    {
        var appSettings = Path.Combine(Manifests.Directory, "..", "WebApi", "appsettings.json");
        var environment = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var variable in container.Env ?? [])
        {
            if (variable.Value is null)
            {
                continue;
            }

            var key = variable.Name.Replace("__", ":", StringComparison.Ordinal);
            foreach (var prefix in (string[])["DOTNET_", "ASPNETCORE_"])
            {
                if (key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    key = key[prefix.Length..];
                }
            }

            environment[key] = variable.Value;
        }

        return new ConfigurationBuilder()
            .AddJsonFile(Path.GetFullPath(appSettings), optional: false)
            .AddInMemoryCollection(environment)
            .Build();
    }
}

/// <summary>A <c>logpersist</c> command line as the tool parses it.</summary>
internal sealed class ToolCommand
{
    private ToolCommand(IReadOnlyList<string> arguments, ParseResult parsed, bool adoptOrphans)
    {
        Arguments = arguments;
        Parsed = parsed;
        AdoptOrphans = adoptOrphans;
    }

    /// <summary>The arguments after <c>logpersist</c>.</summary>
    public IReadOnlyList<string> Arguments { get; }

    public ParseResult Parsed { get; }

    /// <summary>The subcommand: run, drain, …</summary>
    public string Verb => Parsed.CommandResult.Command.Name;

    public bool AdoptOrphans { get; }

    /// <summary>The child's command line of <c>logpersist run</c>: what follows <c>--</c>.</summary>
    public IReadOnlyList<string> Child => Arguments.SkipWhile(a => a != "--").Skip(1).ToList();

    public T? Value<T>(string option) => Parsed.GetValue<T>(option);

    public static ToolCommand Parse(IReadOnlyList<string> arguments)
    {
        var own = arguments.TakeWhile(a => a != "--").ToList();
        var root = CliApp.Build(CliContext.ForWriters(TextWriter.Null, TextWriter.Null));
        var parsed = root.Parse(arguments.ToList());
        var adopt = own.Contains("run") && parsed.GetValue<bool>("--adopt-orphans");
        return new ToolCommand(arguments, parsed, adopt);
    }
}
