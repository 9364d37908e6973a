using System.Globalization;
using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Adoption;

/// <summary>Instances of one service, "orders", sharing a WAL root: their options, directories and entries.</summary>
internal static class Siblings
{
    public const string Service = "orders";

    public static string Directory(TempDirectory root, string instance) => root.Combine("default", Service, instance);

    public static string AdoptionArea(TempDirectory root) => root.Combine("default", Service, LogPersist.Wal.Ownership.AdoptionArea.DirectoryName);

    /// <summary>A short lease (1 s, renewed every 100 ms) and a quick scan, so adoption happens within a test.</summary>
    public static LogPersistOptions Options(TempDirectory root, string instance, string? url, bool adopt) => new()
    {
        Directory = root.Path,
        ServiceName = Service,
        Instance = instance,
        LokiUrl = url,
        AdoptOrphans = adopt,
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 1L << 30,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        FlushTimeout = TimeSpan.FromSeconds(5),
        LeaseDuration = TimeSpan.FromSeconds(1),
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        AdoptionScanInterval = TimeSpan.FromMilliseconds(200),
        Environment = _ => null,
    };

    /// <summary>Logs "seq {Seq}" for <paramref name="count"/> sequence numbers from <paramref name="first"/>.</summary>
    public static void Log(LogPipeline pipeline, long first, int count)
    {
        var encoder = new EntryEncoder();
        var entry = new LogEntry { Category = "Test", Template = "seq {Seq}" };
        entry.Properties.Add(new("Seq", 0L));
        for (var sequence = first; sequence < first + count; sequence++)
        {
            entry.TimestampNs = LogEntry.NowNs(TimeProvider.System);
            entry.Properties[0] = new("Seq", sequence);
            Assert.True(pipeline.Append(encoder.Encode(entry)));
        }
    }

    /// <summary>The sequence numbers a crash helper reported as returned from the log call.</summary>
    public static HashSet<long> Reported(CrashHelperProcess helper) =>
        helper.Lines.Where(l => l.StartsWith("A ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.AsSpan(2), CultureInfo.InvariantCulture))
            .ToHashSet();
}
