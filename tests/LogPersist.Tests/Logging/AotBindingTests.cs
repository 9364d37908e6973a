using System.Collections;
using System.Globalization;
using System.Reflection;
using LogPersist.Binding;
using LogPersist.Extensions.Logging;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogPersist.Tests.Logging;

/// <summary>
/// The reflection-free binding of <c>Logging:LogPersist</c>: it must read every option exactly as the
/// framework's reflection binder (<see cref="ConfigurationBinder"/>) read it before.
/// </summary>
public sealed class AotBindingTests : IDisposable
{
    /// <summary>A value for every public option, none of them the default.</summary>
    private static readonly Dictionary<string, string?> EveryOption = new()
    {
        ["Directory"] = "/data/wal",
        ["ServiceName"] = "orders",
        ["Instance"] = "orders-7",
        ["SegmentBytes"] = "1048576",
        ["MaxDiskBytes"] = "0x10000000",
        ["FullMode"] = "block",
        ["BlockTimeout"] = "00:00:02.5",
        ["Durability"] = "Interval",
        ["FlushInterval"] = "00:00:00.050",
        ["MinimumLevel"] = "Warning",
        ["LokiUrl"] = "http://loki:3100",
        ["Tenant"] = "team-a",
        ["Username"] = "user",
        ["Password"] = "secret",
        ["BearerToken"] = "token",
        ["BearerTokenFile"] = "/var/run/token",
        ["Headers:X-Env"] = "prod",
        ["Headers:X-Region"] = "eu",
        ["CaCertificateFile"] = "/etc/ca.pem",
        ["ClientCertificateFile"] = "/etc/client.pem",
        ["ClientKeyFile"] = "/etc/client.key",
        ["ClientCertificatePassword"] = "pfx-password",
        ["Encoding"] = "json",
        ["BatchMaxBytes"] = " 65536 ",
        ["BatchMaxWait"] = "00:00:00.250",
        ["MaxInFlight"] = "4",
        ["MaxLabelNames"] = "20",
        ["Labels:team"] = "payments",
        ["Labels:container"] = "",
        ["LabelProperties:0"] = "Status",
        ["LabelProperties:1"] = "Route",
        ["MetadataProperties:0"] = "user_id",
        ["MaxLabelValues"] = "250",
        ["MaxStreams"] = "2000",
        ["LevelLabel"] = "true",
        ["InstanceLabel"] = "False",
        ["LineFormat"] = "logfmt",
        ["MaxLineBytes"] = "1024",
        ["OversizedLines"] = "Split",
        ["MaxEntryBytes"] = "0x200000",
        ["StructuredMetadata"] = "Off",
        ["FlushTimeout"] = "00:00:10",
        ["AdoptOrphans"] = "true",
        ["AllowGroupWritableDirectories"] = "true",
        // Keys that are not options are ignored by both binders.
        ["LogLevel:Default"] = "Warning",
        ["NotAnOption"] = "x",
    };

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Every_public_option_has_a_value_in_the_test_configuration()
    {
        var options = PublicOptions().Select(p => p.Name).Order(StringComparer.Ordinal);
        var configured = EveryOption.Keys.Select(k => k.Split(':')[0]).Where(k => k is not ("LogLevel" or "NotAnOption")).Distinct().Order(StringComparer.Ordinal);

        Assert.Equal(options, configured);
    }

    [Fact]
    public void Binding_every_option_gives_what_the_reflection_binder_gave()
    {
        var section = Section(EveryOption);

        var expected = ReflectionBound(section);
        var actual = Bound(section);

        Assert.Equal(Snapshot(expected), Snapshot(actual));
        var defaults = Snapshot(new LogPersistOptions());
        Assert.All(Snapshot(actual), p => Assert.NotEqual(defaults[p.Key], p.Value));
    }

    [Fact]
    public void Every_option_round_trips_to_its_typed_value()
    {
        var options = Bound(Section(EveryOption));

        Assert.Equal("/data/wal", options.Directory);
        Assert.Equal(1L << 20, options.SegmentBytes);
        Assert.Equal(1L << 28, options.MaxDiskBytes);
        Assert.Equal(WalFullMode.Block, options.FullMode);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), options.BlockTimeout);
        Assert.Equal(WalDurability.Interval, options.Durability);
        Assert.Equal(EntryLevel.Warning, options.MinimumLevel);
        Assert.Equal(PushEncoding.Json, options.Encoding);
        Assert.Equal(65536, options.BatchMaxBytes);
        Assert.Equal(new Dictionary<string, string> { ["X-Env"] = "prod", ["X-Region"] = "eu" }, options.Headers);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "payments", ["container"] = "" }, options.Labels);
        Assert.Equal(["Status", "Route"], options.LabelProperties);
        Assert.Equal(["user_id"], options.MetadataProperties);
        Assert.Equal((250, 2000), (options.MaxLabelValues, options.MaxStreams));
        Assert.True(options.LevelLabel);
        Assert.False(options.InstanceLabel);
        Assert.Equal(LineFormat.Logfmt, options.LineFormat);
        Assert.Equal(OversizedLineMode.Split, options.OversizedLines);
        Assert.Equal(2 << 20, options.MaxEntryBytes);
        Assert.Equal(StructuredMetadataMode.Off, options.StructuredMetadata);
        Assert.True(options.AdoptOrphans);
        Assert.True(options.AllowGroupWritableDirectories);
    }

    [Theory]
    [InlineData("MaxInFlight", "#1F")]
    [InlineData("MaxInFlight", "&h10")]
    [InlineData("SegmentBytes", "-4096")]
    [InlineData("FullMode", "1")]
    [InlineData("FullMode", " DropNewest ")]
    [InlineData("MinimumLevel", "ERROR")]
    [InlineData("BlockTimeout", "1.02:03:04.5")]
    [InlineData("BlockTimeout", " 5 ")]
    [InlineData("LevelLabel", " TRUE ")]
    [InlineData("ServiceName", "")]
    [InlineData("LokiUrl", " spaced ")]
    public void An_edge_value_binds_as_the_reflection_binder_bound_it(string key, string value)
    {
        var section = Section(new() { [key] = value });

        Assert.Equal(Snapshot(ReflectionBound(section)), Snapshot(Bound(section)));
    }

    [Fact]
    public void Collections_are_merged_into_what_earlier_configuration_set_as_before()
    {
        var section = Section(new()
        {
            ["Labels:team"] = "payments",
            ["Headers:X-Env"] = "prod",
            ["LabelProperties:0"] = "Route",
        });
        static LogPersistOptions Seeded() => new()
        {
            Labels = new() { ["team"] = "core", ["cluster"] = "eu-1" },
            Headers = new() { ["X-Env"] = "dev" },
            LabelProperties = ["Status"],
            ServiceName = "kept",
        };

        var expected = Seeded();
        section.Bind(expected);
        var actual = Seeded();
        LogPersistOptionsBinder.Bind(section, actual);

        Assert.Equal(Snapshot(expected), Snapshot(actual));
        Assert.Equal(["Status", "Route"], actual.LabelProperties);
        Assert.Equal("eu-1", actual.Labels["cluster"]);
        Assert.Equal("kept", actual.ServiceName);
    }

    [Theory]
    [InlineData("FullMode", "Sometimes")]
    [InlineData("MaxInFlight", "four")]
    [InlineData("MaxInFlight", "99999999999")]
    [InlineData("BatchMaxWait", "soon")]
    [InlineData("AdoptOrphans", "yes")]
    [InlineData("AllowGroupWritableDirectories", "sure")]
    [InlineData("SegmentBytes", "")]
    public void A_value_that_does_not_convert_fails_as_the_reflection_binder_failed(string key, string value)
    {
        var section = Section(new() { [key] = value });

        Assert.Throws<InvalidOperationException>(() => ReflectionBound(section));
        var error = Assert.Throws<InvalidOperationException>(() => Bound(section));
        Assert.Contains($"'{value}' at 'Logging:LogPersist:{key}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_value_that_does_not_convert_is_named_in_one_error_with_the_valid_names_of_an_enum()
    {
        var section = Section(new() { ["FullMode"] = "Sometimes", ["MaxInFlight"] = "four", ["FlushTimeout"] = "later" });

        var error = Assert.Throws<InvalidOperationException>(() => Bound(section));

        Assert.Contains("'Sometimes' at 'Logging:LogPersist:FullMode' to type 'LogPersist.WalFullMode'. Valid values: DropOldest, DropNewest, Block.", error.Message, StringComparison.Ordinal);
        Assert.Contains("'four' at 'Logging:LogPersist:MaxInFlight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'later' at 'Logging:LogPersist:FlushTimeout'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_enum_value_stops_the_logger_factory_at_creation_naming_the_key()
    {
        var config = Configuration(new() { ["FullMode"] = "Sometimes" });

        var error = Assert.Throws<InvalidOperationException>(() => LoggerFactory.Create(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist()));

        Assert.Contains("at 'LogPersist:FullMode'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Valid values: DropOldest, DropNewest, Block.", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root.Path));
    }

    [Fact]
    public void A_bad_enum_value_stops_the_host_while_it_is_built()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(Configuration(new() { ["Durability"] = "Eventually" }));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddLogPersist();

        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains("'Eventually' at 'LogPersist:Durability' to type 'LogPersist.WalDurability'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_section_named_after_the_provider_type_binds_too()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Logging:{typeof(LogPersistLoggerProvider).FullName}:ServiceName"] = "by-type-name",
            ["Logging:LogPersist:Instance"] = "by-alias",
        }).Build();
        using var services = new ServiceCollection().AddLogging(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist()).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<LogPersistOptions>>().Value;

        Assert.Equal("by-type-name", options.ServiceName);
        Assert.Equal("by-alias", options.Instance);
    }

    [Fact]
    public void A_configuration_reload_is_seen_by_the_options_monitor()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogPersist:ServiceName"] = "before",
            ["Logging:LogPersist:Labels:team"] = "a",
        }).Build();
        using var services = new ServiceCollection().AddLogging(b => b.AddConfiguration(config.GetSection("Logging")).AddLogPersist()).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<LogPersistOptions>>();
        Assert.Equal("before", monitor.CurrentValue.ServiceName);
        var changes = 0;
        using var subscription = monitor.OnChange(_ => changes++);

        config["Logging:LogPersist:ServiceName"] = "after";
        config["Logging:LogPersist:Labels:team"] = "b";
        config.Reload();

        Assert.True(changes > 0);
        Assert.Equal("after", monitor.CurrentValue.ServiceName);
        Assert.Equal("b", monitor.CurrentValue.Labels["team"]);
    }

    private IConfiguration Configuration(Dictionary<string, string?> logPersist)
    {
        var values = new Dictionary<string, string?>
        {
            ["Logging:LogPersist:Directory"] = _root.Path,
            ["Logging:LogPersist:ServiceName"] = "orders",
            ["Logging:LogPersist:Instance"] = "orders-0",
            ["Logging:LogPersist:LokiUrl"] = "",
        };
        foreach (var (key, value) in logPersist)
        {
            values["Logging:LogPersist:" + key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    [Fact]
    public void A_json_null_label_or_header_value_is_the_empty_value()
    {
        var section = JsonSection("""{ "Labels": { "container": null, "env": "prod" }, "Headers": { "X-A": null } }""");

        var options = Bound(section);

        Assert.Equal("", options.Labels["container"]);
        Assert.Equal("prod", options.Labels["env"]);
        Assert.Equal("", options.Headers["X-A"]);

        // The reflection binder stored a null into a dictionary whose values are declared non-null.
        Assert.Null(ReflectionBound(section).Labels["container"]);
    }

    [Fact]
    public void A_json_null_option_keeps_its_value_where_the_reflection_binder_zeroed_it()
    {
        var section = JsonSection("""{ "FlushTimeout": null, "InstanceLabel": null, "MaxInFlight": null, "LabelProperties": [ "a", null, "b" ] }""");

        var options = Bound(section);

        // Deliberately not the reflection binder's result: a zero flush timeout or an instance label
        // turned off by a null is a surprise, not a setting.
        var defaults = new LogPersistOptions();
        Assert.Equal(defaults.FlushTimeout, options.FlushTimeout);
        Assert.Equal(defaults.InstanceLabel, options.InstanceLabel);
        Assert.Equal(defaults.MaxInFlight, options.MaxInFlight);
        Assert.Equal(["a", "b"], options.LabelProperties);
        Assert.Equal(TimeSpan.Zero, ReflectionBound(section).FlushTimeout);
    }

    [Fact]
    public void Every_option_written_in_json_binds_as_the_reflection_binder_bound_it()
    {
        var json = new System.Text.StringBuilder("{ \"Labels\": { \"env\": \"prod\" }, \"LabelProperties\": [ \"tenant\" ], \"Headers\": { \"X-Org\": \"7\" }");
        foreach (var (key, value) in EveryOption.Where(p => !p.Key.Contains(':', StringComparison.Ordinal)))
        {
            json.Append(CultureInfo.InvariantCulture, $", \"{key}\": \"{value}\"");
        }

        var section = JsonSection(json.Append(" }").ToString());

        Assert.Equal(Snapshot(ReflectionBound(section)), Snapshot(Bound(section)));
        Assert.Equal("prod", Bound(section).Labels["env"]);
    }

    private static IConfigurationSection JsonSection(string logPersist)
    {
        var document = "{ \"Logging\": { \"LogPersist\": " + logPersist + " } }";
        return new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(document)))
            .Build()
            .GetSection("Logging:LogPersist");
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(p => KeyValuePair.Create("Logging:LogPersist:" + p.Key, p.Value)))
            .Build()
            .GetSection("Logging:LogPersist");

    private static LogPersistOptions Bound(IConfiguration section)
    {
        var options = new LogPersistOptions();
        LogPersistOptionsBinder.Bind(section, options);
        return options;
    }

    private static LogPersistOptions ReflectionBound(IConfiguration section)
    {
        var options = new LogPersistOptions();
        section.Bind(options);
        return options;
    }

    private static IEnumerable<PropertyInfo> PublicOptions() =>
        typeof(LogPersistOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic);

    /// <summary>Every public option as text, collections by content, so two instances compare by value.</summary>
    private static Dictionary<string, string> Snapshot(LogPersistOptions options) =>
        PublicOptions().ToDictionary(p => p.Name, p => p.GetValue(options) switch
        {
            null => "<null>",
            IDictionary<string, string> d => string.Join(";", d.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}")),
            string s => $"\"{s}\"",
            IEnumerable e => string.Join(";", e.Cast<object>()),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var v => v.ToString()!,
        });
}
