using System.Diagnostics;
using System.Globalization;
using LogPersist;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

// A small service loop that writes structured log entries into a LogPersist write-ahead log and,
// when LOKI_URL is set, ships them to Loki in the background. Kill it at any moment (Ctrl+C,
// kill -9) and run it again: entries whose append returned are still in the WAL, and what was not
// yet acknowledged by Loki is shipped by the next run.
//
//   dotnet run --project samples/WalDemo [-- ENTRIES]
//   LOKI_URL=http://127.0.0.1:3100 [LOKI_TENANT=team-a] dotnet run --project samples/WalDemo
var entries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var instance = Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.GetEnvironmentVariable("HOSTNAME") ?? Environment.MachineName;
var directory = Path.Combine(Environment.GetEnvironmentVariable("LOGPERSIST_DIR") ?? ".logpersist", "wal-demo", instance);

using var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.GetFullPath(directory), OwnerDescription = "WalDemo " + instance });
Console.WriteLine($"WAL directory: {wal.Directory}");
Shipper? shipper = null;
if (Environment.GetEnvironmentVariable("LOKI_URL") is { Length: > 0 } loki)
{
    shipper = new Shipper(wal, new ShipperOptions
    {
        Loki = new LokiClientOptions { Endpoint = new Uri(loki), Tenant = Environment.GetEnvironmentVariable("LOKI_TENANT") },
        Labels = new Dictionary<string, string?> { ["service_name"] = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "wal-demo" },
    });
    shipper.Start();
    Console.WriteLine($"Shipping to {new Uri(loki).GetLeftPart(UriPartial.Authority)} in the background.");
}
else
{
    Console.WriteLine("LOKI_URL is not set: entries stay in the WAL.");
}

var clock = Stopwatch.StartNew();
var encoder = new EntryEncoder();
var entry = new LogEntry { Category = "WalDemo.Requests", Template = "Request {RequestId} answered {Status} in {ElapsedMs} ms" };
entry.Properties.Add(new("RequestId", 0));
entry.Properties.Add(new("Status", 200));
entry.Properties.Add(new("ElapsedMs", 0));
var accepted = 0;
for (var i = 0; i < entries; i++)
{
    entry.TimestampNs = LogEntry.NowNs(TimeProvider.System);
    entry.Properties[0] = new("RequestId", i);
    entry.Properties[2] = new("ElapsedMs", i % 97);
    accepted += wal.Append(encoder.Encode(entry)) ? 1 : 0;
}

var elapsed = clock.Elapsed;
wal.Flush();
var recovery = await wal.Recovery;
Console.WriteLine($"Earlier runs left {recovery.Records:N0} records in {recovery.Segments} segments ({recovery.DamagedRanges} damaged ranges skipped).");
Console.WriteLine($"Appended {accepted:N0} of {entries:N0} entries in {elapsed.TotalMilliseconds:N0} ms; dropped {wal.Metrics.DroppedTotal():N0}.");
if (shipper is not null)
{
    var flushed = await shipper.FlushAsync(TimeSpan.FromSeconds(30));
    Console.WriteLine(flushed
        ? $"Loki acknowledged everything: {shipper.Metrics.ShippedEntries:N0} entries shipped this run."
        : $"Not everything was acknowledged within 30 s ({shipper.Metrics.ShippedEntries:N0} shipped{(shipper.LastError is null ? "" : ", last error: " + shipper.LastError)}); the rest stays in the WAL for the next run.");
    await shipper.DisposeAsync();
}

Console.WriteLine($"Segments on disk: {Directory.GetFiles(wal.Directory, "*.wal").Length}.");
