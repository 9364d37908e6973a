using System.Diagnostics;
using System.Globalization;
using System.Text;
using LogPersist.Wal;

// A small service loop that writes log lines into a LogPersist write-ahead log, reports what an
// earlier run left behind, and prints what it wrote. Kill it at any moment (Ctrl+C, kill -9) and
// run it again: the lines whose append returned are all still there.
//
//   dotnet run --project samples/WalDemo [-- ENTRIES]
var entries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var instance = Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.GetEnvironmentVariable("HOSTNAME") ?? Environment.MachineName;
var directory = Path.Combine(Environment.GetEnvironmentVariable("LOGPERSIST_DIR") ?? ".logpersist", "wal-demo", instance);

using var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.GetFullPath(directory), OwnerDescription = "WalDemo " + instance });
Console.WriteLine($"WAL directory: {wal.Directory}");
if (Environment.GetEnvironmentVariable("LOKI_URL") is { Length: > 0 } loki)
{
    Console.WriteLine($"LOKI_URL={loki}: shipping to Loki is not part of this build yet; entries stay in the WAL.");
}

var clock = Stopwatch.StartNew();
var line = new byte[256];
var accepted = 0;
for (var i = 0; i < entries; i++)
{
    var length = Encoding.UTF8.GetBytes(
        string.Create(CultureInfo.InvariantCulture, $"{{\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},\"level\":\"info\",\"msg\":\"request handled\",\"request\":{i},\"status\":200}}"),
        line);
    accepted += wal.Append(line.AsSpan(0, length)) ? 1 : 0;
}

var elapsed = clock.Elapsed;
wal.Flush();
var recovery = await wal.Recovery;
Console.WriteLine($"Earlier runs left {recovery.Records:N0} entries in {recovery.Segments} segments ({recovery.DamagedRanges} damaged ranges skipped).");
Console.WriteLine($"Appended {accepted:N0} of {entries:N0} entries in {elapsed.TotalMilliseconds:N0} ms; dropped {wal.Metrics.DroppedTotal():N0}.");
Console.WriteLine($"Segments on disk: {Directory.GetFiles(wal.Directory, "*.wal").Length}, {wal.Metrics.AppendedBytes:N0} payload bytes this run.");
