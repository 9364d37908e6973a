using System.Globalization;
using System.Runtime.CompilerServices;
using LogPersist;
using LogPersist.AotSmoke;
using LogPersist.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// Usage: LogPersist.AotSmoke <count> <run-id>
// Logs <count> entries through LogPersist (settings from Logging:LogPersist, environment variables
// included; LOKI_URL turns shipping on), prints first-log-call-ms=<ms> and exits 0 once the host has
// stopped and LogPersist has flushed. Exit codes: 1 LogPersist could not start, 2 usage, 3 Loki did
// not acknowledge every entry within FlushTimeout.
if (args.Length != 2 || !int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1 || string.IsNullOrWhiteSpace(args[1]))
{
    await Console.Error.WriteLineAsync("usage: LogPersist.AotSmoke <count> <run-id>   (count: a whole number of entries, at least 1)");
    return 2;
}

var runId = args[1];
try
{
    // LogPersist's own events on stderr: the WAL it opened, faults if any.
    LogPersistSelfLog.Enable(Console.Error.WriteLine);
    var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
    // Defaults first, so that environment variables (Logging__LogPersist__ServiceName=...) override them.
    // Only this program's entries reach LogPersist unless the environment says otherwise.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft"] = "Warning",
        ["Logging:LogPersist:ServiceName"] = "aot-smoke",
    });
    builder.Configuration.AddEnvironmentVariables();
    builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
    builder.Logging.AddLogPersist();

    using var host = builder.Build();
    await host.StartAsync();
    var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AotSmoke");
    var runtime = RuntimeFeature.IsDynamicCodeSupported ? "jit" : "aot";

    Smoke.Entry(logger, 0, runId, runtime);
    var firstReturned = ProcessClock.Now();
    for (var i = 1; i < count; i++)
    {
        Smoke.Entry(logger, i, runId, runtime);
    }

    var provider = host.Services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
    var flushTimeout = host.Services.GetRequiredService<IOptions<LogPersistOptions>>().Value.FlushTimeout;
    var flushed = await provider.FlushAsync(flushTimeout);
    if (!flushed)
    {
        await Console.Error.WriteLineAsync($"Loki did not acknowledge every entry within {flushTimeout}; the rest stays in {provider.WalDirectory}.");
    }

    await host.StopAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first-log-call-ms={ProcessClock.SinceStart(firstReturned):F1}"));
    return flushed ? 0 : 3;
}
catch (Exception e) when (e is InvalidOperationException or OptionsValidationException or UnauthorizedAccessException or IOException)
{
    await Console.Error.WriteLineAsync($"LogPersist could not start: {e.Message}");
    return 1;
}

internal static partial class Smoke
{
    /// <summary>One entry; <paramref name="runtime"/> ("aot" or "jit") is a structured property outside the message.</summary>
    // The message is fixed by the checker; the generator still records the extra argument as a property.
#pragma warning disable SYSLIB1015
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Smoke entry {Index} of run {RunId}")]
    public static partial void Entry(ILogger logger, int index, string runId, string runtime);
#pragma warning restore SYSLIB1015
}
