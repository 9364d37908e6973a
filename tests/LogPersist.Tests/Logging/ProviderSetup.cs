using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using System.Text;
using System.Text.Json;
using LogPersist.LokiTestServer;
using Microsoft.Extensions.Configuration;

namespace LogPersist.Tests.Logging;

/// <summary>Configuration the way an application writes it in appsettings.json, pointing at a temp WAL root and the test server.</summary>
internal static class ProviderSetup
{
    public static IConfiguration Configuration(string root, Uri? loki, string extraLogPersist = "", string logLevels = """{ "Default": "Trace" }""", string batchMaxWait = "00:00:00.020")
    {
        var json = $$"""
        {
          "Logging": {
            "LogLevel": { "Default": "Information" },
            "LogPersist": {
              "LogLevel": {{logLevels}},
              "Directory": {{JsonSerializer.Serialize(root)}},
              "ServiceName": "orders",
              "Instance": "orders-0",
              "LokiUrl": {{JsonSerializer.Serialize(loki?.ToString() ?? "")}},
              "BatchMaxWait": "{{batchMaxWait}}",
              "StructuredMetadata": "Off",
              "SegmentBytes": 1048576,
              "MaxDiskBytes": 8388608{{extraLogPersist}}
            }
          }
        }
        """;
        return new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
    }

    public static JsonElement Line(StoredEntry entry)
    {
        using var json = JsonDocument.Parse(entry.Line);
        return json.RootElement.Clone();
    }

    public static IEnumerable<JsonElement> Lines(TestServer server, string? category = null) =>
        server.Entries.Select(Line).Where(l => category is null || l.GetProperty("category").GetString() == category);
}
