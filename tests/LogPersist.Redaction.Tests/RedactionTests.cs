using System.Text;
using LogPersist.Extensions.Logging;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Enrichment;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LogPersist.Redaction.Tests;

/// <summary>
/// LogPersist under <c>EnableRedaction()</c> and <c>EnableEnrichment()</c>, set up as the documentation of
/// Microsoft.Extensions.Compliance.Redaction and Microsoft.Extensions.Telemetry shows.
/// </summary>
public sealed partial class RedactionTests : IDisposable
{
    private const string Secret = "hunter2-7f3e91c4";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "logpersist-tests", "redaction-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_classified_property_reaches_the_WAL_redacted_and_the_secret_is_in_no_file()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddLogPersist(Configure);
        builder.Logging.EnableRedaction();
        builder.Services.AddRedaction(redaction => redaction.SetRedactor<MaskRedactor>(new DataClassificationSet(Taxonomy.Secret)));
        using (var host = builder.Build())
        {
            await host.StartAsync();
            Log.Login(host.Services.GetRequiredService<ILogger<RedactionTests>>(), "ana", Secret);
            await host.StopAsync();
        }

        var files = Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        // The entry is there, with the property as the redactor left it.
        Assert.Contains(files, bytes => Contains(bytes, "Login of {User} with {Password}") && Contains(bytes, "ana") && Contains(bytes, MaskRedactor.Mask));
        Assert.DoesNotContain(files, bytes => Contains(bytes, Secret));
    }

    [Fact]
    public async Task Enrichment_tags_arrive_as_properties_of_the_entry()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddLogPersist(Configure);
        builder.Logging.EnableEnrichment();
        builder.Services.AddLogEnricher<RegionEnricher>();
        using (var host = builder.Build())
        {
            await host.StartAsync();
            host.Services.GetRequiredService<ILogger<RedactionTests>>().LogInformation("Order {OrderId} placed", 17);
            await host.StopAsync();
        }

        var files = Directory.GetFiles(_root, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        Assert.Contains(files, bytes => Contains(bytes, "Order {OrderId} placed") && Contains(bytes, RegionEnricher.Tag) && Contains(bytes, RegionEnricher.Region));
    }

    private void Configure(LogPersistOptions options)
    {
        options.Directory = _root;
        options.ServiceName = "orders";
        options.Instance = "orders-0";
        options.LokiUrl = "";
        options.SegmentBytes = 1 << 20;
        options.MaxDiskBytes = 8 << 20;
    }

    private static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Login of {User} with {Password}")]
        public static partial void Login(ILogger logger, string user, [SecretData] string password);
    }

    private static class Taxonomy
    {
        public static DataClassification Secret { get; } = new("LogPersistTests", "Secret");
    }

    private sealed class SecretDataAttribute() : DataClassificationAttribute(Taxonomy.Secret);

    private sealed class MaskRedactor : Redactor
    {
        public const string Mask = "<masked:LogPersistTests>";

        public override int GetRedactedLength(ReadOnlySpan<char> input) => Mask.Length;

        public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
        {
            Mask.AsSpan().CopyTo(destination);
            return Mask.Length;
        }
    }

    private sealed class RegionEnricher : ILogEnricher
    {
        public const string Tag = "cloud_region";
        public const string Region = "eu-west-9";

        public void Enrich(IEnrichmentTagCollector collector) => collector.Add(Tag, Region);
    }
}
