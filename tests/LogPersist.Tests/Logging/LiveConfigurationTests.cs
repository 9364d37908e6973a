using LogPersist.Extensions.Logging;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static LogPersist.Tests.Logging.ProviderSetup;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Logging;

/// <summary>The provider follows <c>Logging:LogPersist</c> through <c>IOptionsMonitor</c>: a configuration reload applies while the host runs.</summary>
public sealed class LiveConfigurationTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private TestServer _first = null!;
    private TestServer _second = null!;

    public async Task InitializeAsync()
    {
        _first = await TestServer.StartAsync();
        _second = await TestServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        Resends.AssertNone(_first);
        Resends.AssertNone(_second);
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task A_reload_moves_shipping_to_a_new_URL_and_raises_the_minimum_level()
    {
        var (host, configuration) = Build();
        using (host)
        {
            await host.StartAsync();
            var logger = host.Services.GetRequiredService<ILogger<LiveConfigurationTests>>();
            for (var i = 0; i < 10; i++)
            {
                logger.LogInformation("Before {Index}", i);
            }

            configuration["Logging:LogPersist:LokiUrl"] = _second.BaseAddress.ToString();
            configuration["Logging:LogPersist:MinimumLevel"] = "Warning";
            configuration.Reload();
            for (var i = 0; i < 10; i++)
            {
                logger.LogInformation("Dropped {Index}", i);
                logger.LogWarning("After {Index}", i);
            }

            await host.StopAsync();
        }

        var category = typeof(LiveConfigurationTests).FullName;
        var all = Lines(_first, category).Concat(Lines(_second, category)).Select(l => l.GetProperty("msg").GetString()!).ToList();
        Assert.Equal(20, all.Count);
        Assert.Equal(10, all.Count(m => m.StartsWith("Before", StringComparison.Ordinal)));
        Assert.DoesNotContain(all, m => m.StartsWith("Dropped", StringComparison.Ordinal));
        Assert.Contains(Lines(_second), l => l.GetProperty("msg").GetString() == "After 9");
    }

    [Fact]
    public async Task Credentials_rotated_through_configuration_while_Loki_refuses_the_old_ones_lose_nothing()
    {
        await using var guarded = await TestServer.StartAsync(new LokiTestServer.LokiTestServerOptions
        {
            RequiredAuthorization = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("orders:rotated")),
        });
        var (host, configuration) = Build(guarded.BaseAddress, ("Username", "orders"), ("Password", "expired"));
        using (host)
        {
            await host.StartAsync();
            var logger = host.Services.GetRequiredService<ILogger<LiveConfigurationTests>>();
            for (var i = 0; i < 20; i++)
            {
                logger.LogInformation("Order {Index}", i);
            }

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!guarded.Requests.Any(r => r.Status == 401))
            {
                Assert.True(DateTime.UtcNow < deadline, "no push was refused for its credentials");
                await Task.Delay(10);
            }

            configuration["Logging:LogPersist:Password"] = "rotated";
            configuration.Reload();
            await host.StopAsync();
        }

        Assert.Equal(20, Lines(guarded, typeof(LiveConfigurationTests).FullName).Count());
        Resends.AssertNone(guarded);
    }

    [Fact]
    public async Task An_invalid_reload_is_reported_and_logging_goes_on_with_the_running_settings()
    {
        var events = new List<string>();
        using var listener = new EventCollector(events);
        var (host, configuration) = Build();
        using (host)
        {
            await host.StartAsync();
            var logger = host.Services.GetRequiredService<ILogger<LiveConfigurationTests>>();
            configuration["Logging:LogPersist:MaxInFlight"] = "0";
            configuration["Logging:LogPersist:LokiUrl"] = _second.BaseAddress.ToString();

            // Nothing may escape into the code that reloads the configuration.
            configuration.Reload();
            logger.LogInformation("Still logged");
            await host.StopAsync();
        }

        Assert.Single(Lines(_first), l => l.GetProperty("msg").GetString() == "Still logged");
        Assert.Empty(_second.Entries);
        lock (events)
        {
            Assert.Contains(events, e => e.Contains("MaxInFlight must be between 1 and 64", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_first_options_are_still_checked_when_the_host_starts()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(Configuration(_root.Path, _first.BaseAddress, """, "MaxInFlight": 0"""));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddLogPersist();
        var error = Assert.ThrowsAny<Exception>(() =>
        {
            using var host = builder.Build();
            host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("x");
        });
        Assert.Contains("MaxInFlight", error.Message, StringComparison.Ordinal);
    }

    private (IHost Host, IConfigurationRoot Configuration) Build(Uri? loki = null, params (string Key, string Value)[] extra)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogPersist:LogLevel:Default"] = "Trace",
            ["Logging:LogPersist:Directory"] = _root.Path,
            ["Logging:LogPersist:ServiceName"] = "orders",
            ["Logging:LogPersist:Instance"] = "orders-0",
            ["Logging:LogPersist:LokiUrl"] = (loki ?? _first.BaseAddress).ToString(),
            ["Logging:LogPersist:BatchMaxWait"] = "00:00:00.020",
            ["Logging:LogPersist:StructuredMetadata"] = "Off",
            ["Logging:LogPersist:SegmentBytes"] = "1048576",
            ["Logging:LogPersist:MaxDiskBytes"] = "8388608",
        };
        foreach (var (key, value) in extra)
        {
            settings["Logging:LogPersist:" + key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddLogPersist();
        var host = builder.Build();
        return (host, (IConfigurationRoot)host.Services.GetRequiredService<IConfiguration>());
    }
}
