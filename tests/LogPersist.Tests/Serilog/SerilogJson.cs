using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Core;

namespace LogPersist.Tests.Serilog;

/// <summary>Loggers built the way an application builds them from appsettings.json: <c>ReadFrom.Configuration</c>.</summary>
internal static class SerilogJson
{
    public const string Service = "orders";
    public const string Instance = "orders-7";

    /// <summary>The sink's Args for a WAL under <paramref name="directory"/> shipping to <paramref name="loki"/>.</summary>
    public static JsonObject Args(string directory, Uri loki, string flushTimeout = "00:00:30") => new()
    {
        ["directory"] = directory,
        ["serviceName"] = Service,
        ["instance"] = Instance,
        ["lokiUrl"] = loki.ToString(),
        ["flushTimeout"] = flushTimeout,
    };

    /// <summary>The <c>Serilog</c> section with one <c>LogPersist</c> sink, as an application's appsettings.json holds it.</summary>
    public static string Document(JsonObject args, string minimumLevel = "Verbose", JsonObject? levelSwitches = null)
    {
        var serilog = new JsonObject
        {
            ["Using"] = new JsonArray("LogPersist.Serilog"),
            ["MinimumLevel"] = minimumLevel,
            ["WriteTo"] = new JsonArray(new JsonObject { ["Name"] = "LogPersist", ["Args"] = args.DeepClone() }),
        };
        if (levelSwitches is not null)
        {
            serilog["LevelSwitches"] = levelSwitches.DeepClone();
        }

        return new JsonObject { ["Serilog"] = serilog }.ToJsonString();
    }

    public static Logger CreateLogger(JsonObject args, string minimumLevel = "Verbose", JsonObject? levelSwitches = null)
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes(Document(args, minimumLevel, levelSwitches)));
        var configuration = new ConfigurationBuilder().AddJsonStream(json).Build();
        return new LoggerConfiguration().ReadFrom.Configuration(configuration).CreateLogger();
    }
}
