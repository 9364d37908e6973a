using System.Globalization;
using Microsoft.Extensions.Configuration;
using Serilog;

// A worker that configures Serilog from appsettings.json, the sink found by name through
// Serilog.Settings.Configuration, as the package README tells a user to.
//   SerilogWorkerConsumer <count> <run-id>
if (args.Length != 2 || !int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
{
    Console.Error.WriteLine("usage: SerilogWorkerConsumer <count> <run-id>");
    return 2;
}

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json")
    .AddEnvironmentVariables()
    .Build();
Log.Logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
try
{
    for (var i = 0; i < count; i++)
    {
        Log.Information("Worker entry {Index} of run {RunId}", i, args[1]);
    }
}
finally
{
    // Flushes the WAL to Loki within the sink's flush timeout.
    await Log.CloseAndFlushAsync();
}

return 0;
