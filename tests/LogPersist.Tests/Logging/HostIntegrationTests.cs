using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static LogPersist.Tests.Logging.ProviderSetup;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Logging;

/// <summary>The setup of the WebApi sample: a host, <c>AddLogPersist()</c>, settings from appsettings-style JSON.</summary>
public sealed class HostIntegrationTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task Stopping_the_host_ships_what_was_logged_before_the_host_is_disposed()
    {
        // Batches would wait a minute: only the flush on stop can deliver within the test.
        using var host = Build(batchMaxWait: "00:01:00");
        await host.StartAsync();
        var logger = host.Services.GetRequiredService<ILogger<HostIntegrationTests>>();
        for (var i = 0; i < 100; i++)
        {
            logger.LogInformation("Handled request {RequestId}", i);
        }

        Assert.Empty(_server.Entries);
        await host.StopAsync();

        Assert.Equal(100, _server.Entries.Count(e => e.Line.Contains("Handled request", StringComparison.Ordinal)));
        var entry = _server.Entries.First(e => e.Line.Contains("Handled request", StringComparison.Ordinal));
        Assert.Equal("orders", entry.LabelMap["service_name"]);
        Assert.Equal("orders-0", entry.LabelMap["pod"]);
        var line = Line(entry);
        Assert.Equal(typeof(HostIntegrationTests).FullName, line.GetProperty("category").GetString());
        Assert.Equal("Handled request 0", line.GetProperty("msg").GetString());
    }

    [Fact]
    public void The_host_refuses_to_start_with_invalid_options()
    {
        var error = Assert.ThrowsAny<Exception>(() => Build(""", "FullMode": "Block", "BlockTimeout": "00:00:00" """));

        Assert.Contains("BlockTimeout", error.Message, StringComparison.Ordinal);
    }

    private IHost Build(string extra = "", string batchMaxWait = "00:00:00.020")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(Configuration(_root.Path, _server.BaseAddress, extra, batchMaxWait: batchMaxWait));
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddLogPersist();
        return builder.Build();
    }
}
