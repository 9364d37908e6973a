using System.CommandLine;
using LogPersist.Cli;
using LogPersist.Cli.Run;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog;

namespace LogPersist.Tests.Adoption;

/// <summary>Kubernetes liveness reaches the adopter from each way LogPersist is set up, and only when asked for.</summary>
public sealed class KubernetesLivenessRegistrationTests
{
    [Fact]
    public async Task The_logging_builder_and_the_Serilog_options_switch_it_on_and_leave_it_off_otherwise()
    {
        using var root = new TempDirectory();
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogPersist:Directory"] = root.Path,
            ["Logging:LogPersist:ServiceName"] = Siblings.Service,
            ["Logging:LogPersist:Instance"] = "mel-0",
            ["Logging:LogPersist:LokiUrl"] = "http://127.0.0.1:1/",
            ["Logging:LogPersist:AdoptOrphans"] = "true",
        }).Build();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddConfiguration(settings.GetSection("Logging")).AddLogPersist().AddKubernetesLiveness(o => o.LabelSelector = "app=orders"));
        await using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("t");
            Assert.StartsWith("the Kubernetes API", Pipeline(root, "mel-0").Adopter!.LivenessSource, StringComparison.Ordinal);
        }

        await using (var logger = new LoggerConfiguration()
            .WriteTo.LogPersist(o =>
            {
                o.Directory = root.Path;
                o.ServiceName = Siblings.Service;
                o.Instance = "serilog-0";
                o.LokiUrl = "http://127.0.0.1:1/";
                o.AdoptOrphans = true;
                o.UseKubernetesLiveness();
            })
            .CreateLogger())
        {
            Assert.StartsWith("the Kubernetes API", Pipeline(root, "serilog-0").Adopter!.LivenessSource, StringComparison.Ordinal);
        }

        await using (var logger = new LoggerConfiguration()
            .WriteTo.LogPersist(directory: root.Path, serviceName: Siblings.Service, instance: "serilog-1", lokiUrl: "http://127.0.0.1:1/", adoptOrphans: true)
            .CreateLogger())
        {
            Assert.Null(Pipeline(root, "serilog-1").Adopter!.LivenessSource);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Run_switches_it_on_with_kubernetes_liveness(bool on)
    {
        var run = new RunOptions();
        var sdk = new SdkOptions();
        var command = new RootCommand();
        run.AddTo(command);
        sdk.AddTo(command);
        string[] arguments = on
            ? ["--adopt-orphans", "--kubernetes-liveness", "--kubernetes-label-selector", "ray.io/cluster=ray", "--", "ray"]
            : ["--adopt-orphans", "--", "ray"];
        var result = command.Parse(arguments);
        Assert.Empty(result.Errors);

        var options = run.ToOptions(result, sdk, CliContext.ForWriters(TextWriter.Null, TextWriter.Null), "ray", TextWriter.Null);

        Assert.True(options.AdoptOrphans);
        Assert.Equal(on, options.Liveness is not null);
    }

    private static LogPipeline Pipeline(TempDirectory root, string instance) =>
        PipelineRegistry.Snapshot().Single(p => p.Directory == Siblings.Directory(root, instance));
}
