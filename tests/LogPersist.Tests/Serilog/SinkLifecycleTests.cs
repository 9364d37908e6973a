using System.Diagnostics;
using System.Text;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Configuration;
using Serilog;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using ShippingHelpers = LogPersist.Tests.Support.Shipping;
using SerilogLog = Serilog.Log;

namespace LogPersist.Tests.Serilog;

/// <summary>Opening, flushing and closing the sink: start-up errors, flush on close, and close deadlines.</summary>
public sealed class SinkLifecycleTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    /// <summary>Nothing crashes in these tests: each ends with the server having received no entry twice.</summary>
    public async Task DisposeAsync()
    {
        Resends.AssertNone(_server);
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public void CloseAndFlush_delivers_every_event_before_it_returns()
    {
        SerilogLog.Logger = SerilogJson.CreateLogger(SerilogJson.Args(_dir.Path, _server.BaseAddress));
        for (var i = 0; i < 300; i++)
        {
            SerilogLog.Information("Task {Seq} done", i);
        }

        SerilogLog.CloseAndFlush();

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), ShippingHelpers.Sequences(_server.Entries).Order());
    }

    [Fact]
    public async Task A_sinks_WAL_directory_is_listed_while_it_is_open_and_not_after()
    {
        await using (var logger = SerilogJson.CreateLogger(SerilogJson.Args(_dir.Path, _server.BaseAddress)))
        {
            logger.Information("Task {Seq} done", 0);

            // Other tests' pipelines may be open in this process too: this sink's is among them, under the configured root.
            var mine = Assert.Single(LogPersistWal.OpenDirectories(), d => d.StartsWith(_dir.Path + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            Assert.True(Directory.Exists(mine));
            Assert.NotEmpty(Directory.GetFiles(mine, "*.wal"));
        }

        Assert.DoesNotContain(LogPersistWal.OpenDirectories(), d => d.StartsWith(_dir.Path + Path.DirectorySeparatorChar, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DisposeAsync_delivers_every_event_before_it_returns()
    {
        await using (var logger = SerilogJson.CreateLogger(SerilogJson.Args(_dir.Path, _server.BaseAddress)))
        {
            for (var i = 0; i < 300; i++)
            {
                logger.Information("Task {Seq} done", i);
            }
        }

        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), ShippingHelpers.Sequences(_server.Entries).Order());
    }

    [Fact]
    public async Task Close_with_Loki_down_returns_by_the_flush_deadline_and_the_next_start_ships_what_was_left()
    {
        await _server.StopAsync();
        var args = SerilogJson.Args(_dir.Path, _server.BaseAddress, flushTimeout: "00:00:01");
        var logger = SerilogJson.CreateLogger(args);
        for (var i = 0; i < 100; i++)
        {
            logger.Information("Task {Seq} done", i);
        }

        var closing = Stopwatch.StartNew();
        logger.Dispose();
        closing.Stop();

        Assert.True(closing.Elapsed < TimeSpan.FromSeconds(4), $"closing took {closing.Elapsed} with a 1 s deadline");
        Assert.Equal(0, _server.EntryCount);

        await _server.RestartAsync();
        using (SerilogJson.CreateLogger(args))
        {
            Assert.True(await _server.WaitForEntriesAsync(100, ShippingHelpers.Patience));
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), ShippingHelpers.Sequences(_server.Entries).Order());
    }

    [Fact]
    public void Unwritable_directory_fails_at_WriteTo_with_a_message_naming_it()
    {
        var notADirectory = _dir.Combine("not-a-directory");
        File.WriteAllText(notADirectory, "a file where the WAL root should be");

        var error = Assert.Throws<InvalidOperationException>(() =>
            new LoggerConfiguration().WriteTo.LogPersist(directory: notADirectory, lokiUrl: ""));

        Assert.Contains(notADirectory, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwritable_directory_in_json_fails_ReadFrom_Configuration_with_a_message_naming_it()
    {
        var notADirectory = _dir.Combine("not-a-directory");
        File.WriteAllText(notADirectory, "a file where the WAL root should be");
        var args = SerilogJson.Args(notADirectory, _server.BaseAddress);
        using var json = new MemoryStream(Encoding.UTF8.GetBytes(SerilogJson.Document(args)));
        var configuration = new ConfigurationBuilder().AddJsonStream(json).Build();

        var error = Record.Exception(() => new LoggerConfiguration().ReadFrom.Configuration(configuration));

        // Serilog.Settings.Configuration calls WriteTo.LogPersist by reflection, which wraps what it throws.
        var reflected = Assert.IsType<System.Reflection.TargetInvocationException>(error);
        var cause = Assert.IsType<InvalidOperationException>(reflected.InnerException);
        Assert.Contains(notADirectory, cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_settings_fail_at_WriteTo_listing_every_problem()
    {
        var error = Assert.Throws<ArgumentException>(() => new LoggerConfiguration().WriteTo.LogPersist(o =>
        {
            o.Directory = _dir.Path;
            o.LokiUrl = "not a url";
            o.FlushTimeout = TimeSpan.FromHours(1);
        }));

        Assert.Contains("LokiUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("FlushTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Code_configuration_applies_every_option_including_the_minimum_level_and_line_format()
    {
        await using (var logger = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .WriteTo.LogPersist(o =>
            {
                o.Directory = _dir.Path;
                o.ServiceName = "billing";
                o.Instance = "billing-0";
                o.LokiUrl = _server.BaseAddress.ToString();
                o.MinimumLevel = EntryLevel.Warning;
                o.LineFormat = LineFormat.Logfmt;
            })
            .CreateLogger())
        {
            logger.Information("not written: below the options' minimum level");
            logger.Warning("Invoice {InvoiceId} is late", 9);
        }

        var entry = Assert.Single(_server.Entries);
        Assert.Equal("billing", entry.LabelMap["service_name"]);
        Assert.Equal("billing-0", entry.LabelMap["pod"]);
        Assert.StartsWith("level=warn category=\"\" msg=\"Invoice 9 is late\"", entry.Line, StringComparison.Ordinal);
        Assert.Contains(" InvoiceId=9", entry.Line, StringComparison.Ordinal);
    }
}
