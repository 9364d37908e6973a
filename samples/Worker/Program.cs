using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Worker;

// A background compute worker logging through Microsoft.Extensions.Logging into Serilog, with
// LogPersist configured in appsettings.json ("WriteTo": [{ "Name": "LogPersist", ... }]). Every log
// call returns once the entry is in the write-ahead log under ./.logpersist; with LOKI_URL set the
// entries are shipped to Loki in the background, and whatever Loki has not acknowledged when the
// process stops (or is killed) is shipped by the next run.
//
//   dotnet run --project samples/Worker                       runs until Ctrl+C
//   dotnet run --project samples/Worker -- --tasks 25         stops after 25 tasks (also WORKER_TASKS=25)
//   LOKI_URL=http://127.0.0.1:3100 dotnet run --project samples/Worker -- --tasks 25
using var walLocation = new WalLocation();

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Configuration.AddInMemoryCollection(ShortcutSettings(builder.Configuration));
builder.Services.Configure<WorkerOptions>(builder.Configuration.GetSection("Worker"));
builder.Services.AddSerilog((services, logger) => logger
    .ReadFrom.Configuration(builder.Configuration)
    .ReadFrom.Services(services));
builder.Services.AddHostedService<TaskWorker>();

Console.WriteLine(builder.Configuration["LOKI_URL"] is { Length: > 0 } ? "LOKI_URL is set." : "LOKI_URL is not set: entries stay in the WAL.");
Console.WriteLine("Press Ctrl+C to stop.");
await builder.Build().RunAsync();
return 0;

// `--tasks N` and WORKER_TASKS are short forms of Worker:Tasks.
static Dictionary<string, string?> ShortcutSettings(IConfiguration configuration) =>
    (configuration["tasks"] ?? configuration["WORKER_TASKS"]) is { } tasks
        ? new() { ["Worker:Tasks"] = tasks }
        : [];
