using System.Globalization;
using LogPersist.Entries;
using LogPersist.Wal;
using Microsoft.Extensions.Logging;
using ZLogger;

namespace LogPersist.Benchmarks;

/// <summary>
/// Bytes on disk per entry: the same <c>[LoggerMessage]</c> call as <see cref="LoggingHotPathBenchmarks"/>
/// (3 ints, a 55-character template, a 30-character category, an event id and name), logged N times
/// through the MEL provider into a fresh WAL, next to ZLogger's plain-text file of the same calls in the
/// same run, and next to what the same entry takes written out whole (format 1, as LogPersist 0.1 wrote
/// every entry). WAL bytes are the records' (header, payload, padding, the string tables and the
/// segments' end records), not the preallocated segment files.
/// </summary>
internal static class EntryBytesHarness
{
    private const string Category = "LogPersist.Benchmarks.Requests";

    public static int Run(int entries)
    {
        var root = Path.Combine(Path.GetTempPath(), "logpersist-bench", "entry-bytes-" + Environment.ProcessId);
        Directory.CreateDirectory(root);
        Environment.SetEnvironmentVariable("LOKI_URL", null);
        try
        {
            var walDirectory = Path.Combine(root, "wal");
            using (var factory = LoggerFactory.Create(builder => builder.AddLogPersist(options =>
            {
                options.Directory = walDirectory;
                options.ServiceName = "bench";
                options.Instance = "i1";
                options.MaxDiskBytes = 8L << 30;
                options.LokiUrl = null;
            })))
            {
                Log(factory.CreateLogger(Category), entries);
            }

            var zloggerFile = Path.Combine(root, "zlogger.log");
            using (var factory = LoggerFactory.Create(builder => builder.AddZLoggerFile(zloggerFile, options =>
                options.UsePlainTextFormatter(formatter => formatter.SetPrefixFormatter(
                    $"{0:utc-longdate} [{1:short}] {2}: ",
                    (in MessageTemplate template, in LogInfo info) => template.Format(info.Timestamp, info.LogLevel, info.Category))))))
            {
                Log(factory.CreateLogger(Category), entries);
            }

            var instance = Directory.GetDirectories(walDirectory, "*", SearchOption.AllDirectories)
                .First(d => Directory.EnumerateFiles(d, SegmentNames.SearchPattern).Any());
            long walBytes = 0, records = 0;
            foreach (var path in Directory.EnumerateFiles(instance, SegmentNames.SearchPattern))
            {
                if (!SegmentNames.TryParse(Path.GetFileName(path), out var sequence))
                {
                    continue;
                }

                var inspection = SegmentInspector.Inspect(instance, sequence, live: false);
                walBytes += inspection.StoppedAt + RecordFormat.SegmentEndRecordSize - SegmentHeader.Size64;
                records += inspection.DataRecords;
            }

            var whole = RecordFormat.AlignedSize(WholeEntryBytes());
            var zlogger = new FileInfo(zloggerFile).Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{entries:N0} entries logged; {records:N0} data records in the WAL"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LogPersist WAL (format 2):       {(double)walBytes / entries,6:F1} bytes per entry ({walBytes:N0} bytes)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the entry written out (format 1): {whole,6} bytes per entry (16-byte header, payload, padding)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ZLogger plain text, same run:     {(double)zlogger / entries,6:F1} bytes per entry ({zlogger:N0} bytes)"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Log(ILogger logger, int entries)
    {
        for (var i = 0; i < entries; i++)
        {
            RequestLog.Answered(logger, i, 200, i % 1000);
        }
    }

    /// <summary>The payload of the benchmark's entry written out whole, as the provider encodes it without a string table.</summary>
    private static int WholeEntryBytes()
    {
        var encoder = new EntryEncoder();
        Span<byte> trace = default;
        encoder.Begin(new EntryHeader
        {
            TimestampNs = DateTime.UtcNow.Ticks,
            Level = EntryLevel.Information,
            CategoryUtf8 = System.Text.Encoding.UTF8.GetBytes(Category),
            Template = "Request {RequestId} answered {Status} in {ElapsedMs} ms",
            EventId = 1,
            EventName = "Answered",
            Trace = trace,
        });
        encoder.BeginProperties(3);
        encoder.WriteProperty("RequestId", 500_000);
        encoder.WriteProperty("Status", 200);
        encoder.WriteProperty("ElapsedMs", 500);
        encoder.BeginScopes();
        return encoder.End().Length;
    }
}
