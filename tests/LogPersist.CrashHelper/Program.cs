using System.Buffers.Binary;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

// A child process for the crash tests: it does durable work in a loop and reports each completed
// step on stdout, until the parent kills it with SIGKILL.
//
//   append DIR SEGMENT_BYTES THREADS FIRST_SEQUENCE   appends sequence numbers; prints "A <n>" after Append returned true
//   checkpoint DIR FIRST_INDEX                        saves checkpoints (i, 8*i); prints "C <i>" after Save returned
//   ship DIR LOKI_URL THREADS FIRST_SEQUENCE COUNT [v1]   logs COUNT entries "seq <n>" while a shipper pushes them to LOKI_URL; prints "A <n>";
//                                                     entries refer to the segments' string tables, or with "v1" the WAL is
//                                                     written as LogPersist 0.1 wrote it (format 1 segments, self-contained entries)
//   drain DIR LOKI_URL                                ships what is left and prints "DRAINED" once all of it was acknowledged
//   pipeline ROOT SERVICE INSTANCE LOKI_URL FIRST COUNT [adopt]   an application's pipeline (lease 1 s, heartbeat 100 ms) logs
//                                                     "seq <n>" for n in FIRST..FIRST+COUNT-1; prints "A <n>" after each log call returned;
//                                                     with "adopt", it also adopts gone siblings (scan every 200 ms); with
//                                                     "adopt API_URL", it asks that Kubernetes API server whether a sibling's
//                                                     pod is gone, as pod INSTANCE of UID "uid-INSTANCE"
//
// Reports go straight to the stdout pipe, whole lines per write and no buffer in this process that
// a kill could lose or cut, so the parent reads exactly what was reported before the kill. A
// checkpoint is reported before the next save starts: at most the one save in flight is unreported.
//
// The helper exits when its stdin reaches end of file. The parent holds a pipe to it open, so a
// parent that dies without killing the helper (a crashed test host) takes it along; writes to the
// unread stdout pipe would not stop it, because .NET's console stream ignores EPIPE.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: append DIR SEGMENT_BYTES THREADS FIRST_SEQUENCE | checkpoint DIR FIRST_INDEX");
    return 2;
}

new Thread(() =>
{
    using var stdin = Console.OpenStandardInput();
    var ignored = new byte[256];
    while (stdin.Read(ignored) > 0)
    {
    }

    Console.Error.WriteLine("stdin closed: the parent is gone; exiting");
    Environment.Exit(3);
}) { IsBackground = true, Name = "parent watchdog" }.Start();

var stdout = Console.OpenStandardOutput();
var stdoutLock = new object();

switch (args[0])
{
    case "append" when args.Length == 5:
        return RunAppend(args[1], long.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture));
    case "checkpoint":
        return RunCheckpoint(args[1], long.Parse(args[2], CultureInfo.InvariantCulture));
    case "ship" when args.Length is 6 or 7:
        return RunShip(args[1], new Uri(args[2]), int.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture), long.Parse(args[5], CultureInfo.InvariantCulture), args.Length == 7 && args[6] == "v1");
    case "drain" when args.Length == 3:
        return RunDrain(args[1], new Uri(args[2]));
    case "pipeline" when args.Length is 7 or 8 or 9:
        return RunPipeline(args[1], args[2], args[3], args[4], long.Parse(args[5], CultureInfo.InvariantCulture), long.Parse(args[6], CultureInfo.InvariantCulture), args.Length >= 8 && args[7] == "adopt", args.Length == 9 ? args[8] : null);
    default:
        Console.Error.WriteLine("unknown mode or wrong arguments: " + string.Join(' ', args));
        return 2;
}

int RunAppend(string directory, long segmentBytes, int threads, long first)
{
    using var wal = WriteAheadLog.Open(new WalOptions
    {
        Directory = directory,
        SegmentBytes = segmentBytes,
        MaxDiskBytes = segmentBytes * 100_000,
    });
    Report("READY\n"u8);
    var next = first - 1;
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        // Each thread reports in small batches, one write each: the appenders spend their time
        // appending side by side rather than queueing for the pipe.
        const int LinesPerWrite = 16;
        var payload = new byte[170];
        var lines = new byte[LinesPerWrite * 32];
        int used = 0, count = 0;
        while (true)
        {
            var sequence = Interlocked.Increment(ref next);
            BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
            payload.AsSpan(8).Fill((byte)sequence);
            if (wal.Append(payload))
            {
                used += FormatLine((byte)'A', sequence, lines.AsSpan(used));
                if (++count == LinesPerWrite)
                {
                    Report(lines.AsSpan(0, used));
                    used = 0;
                    count = 0;
                }
            }
        }
    }) { IsBackground = true }).ToList();
    workers.ForEach(t => t.Start());
    workers.ForEach(t => t.Join());
    return 0;
}

Shipper StartShipper(WriteAheadLog wal, Uri loki)
{
    var shipper = new Shipper(wal, new ShipperOptions
    {
        Loki = new LokiClientOptions { Endpoint = loki, RetryBaseDelay = TimeSpan.FromMilliseconds(20), RetryMaxDelay = TimeSpan.FromMilliseconds(200), CircuitBreakDuration = TimeSpan.FromMilliseconds(500) },
        DetectedLabels = [new("service_name", "crash-helper"), new("pod", "crash-helper-0")],
        BatchMaxBytes = 64 * 1024,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        PollInterval = TimeSpan.FromMilliseconds(5),
        StructuredMetadata = StructuredMetadataMode.Off,
    });
    shipper.Start();
    return shipper;
}

int RunShip(string directory, Uri loki, int threads, long first, long count, bool version1)
{
    using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, SegmentBytes = 256 * 1024, MaxDiskBytes = 1L << 30, SegmentFormat = version1 ? (ushort)1 : SegmentHeader.CurrentVersion });
    using var shipper = StartShipper(wal, loki);
    Report("READY\n"u8);
    var next = first - 1;
    var last = first + count - 1;
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        var encoder = new EntryEncoder();
        var entry = new LogEntry { Category = "CrashHelper", Template = "seq {Seq}" };
        entry.Properties.Add(new("Seq", 0L));
        Span<byte> line = stackalloc byte[32];
        long sequence;
        while ((sequence = Interlocked.Increment(ref next)) <= last)
        {
            entry.TimestampNs = LogEntry.NowNs(TimeProvider.System);
            entry.Properties[0] = new("Seq", sequence);
            encoder.UseStrings(wal.Strings);
            encoder.Encode(entry);
            if (wal.Append(encoder))
            {
                Report(line[..FormatLine((byte)'A', sequence, line)]);
            }
        }
    }) { IsBackground = true }).ToList();
    workers.ForEach(t => t.Start());
    workers.ForEach(t => t.Join());
    Report("LOGGED\n"u8);
    Thread.Sleep(Timeout.Infinite);
    return 0;
}

int RunDrain(string directory, Uri loki)
{
    using var wal = WriteAheadLog.Open(new WalOptions { Directory = directory, SegmentBytes = 256 * 1024, MaxDiskBytes = 1L << 30 });
    using var shipper = StartShipper(wal, loki);
    var drained = shipper.FlushAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
    Report(drained ? "DRAINED\n"u8 : "NOT DRAINED\n"u8);
    return drained ? 0 : 1;
}

int RunPipeline(string root, string service, string instance, string loki, long first, long count, bool adopt, string? kubernetesApi)
{
    var options = new LogPersistOptions
    {
        Directory = root,
        ServiceName = service,
        Instance = instance,
        LokiUrl = loki,
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 1L << 30,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        LeaseDuration = TimeSpan.FromSeconds(1),
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        AdoptOrphans = adopt,
        AdoptionScanInterval = TimeSpan.FromMilliseconds(200),
    };
    if (kubernetesApi is not null)
    {
        options.UseKubernetesLiveness(new LogPersist.Kubernetes.KubernetesLivenessOptions
        {
            Configuration = () => new k8s.KubernetesClientConfiguration { Host = kubernetesApi },
            RetryDelay = TimeSpan.FromMilliseconds(50),
            Environment = name => name switch { "POD_NAME" => instance, "POD_UID" => "uid-" + instance, _ => null },
        });
    }

    using var pipeline = LogPersist.Pipeline.LogPipeline.Open(options);
    Report("READY\n"u8);
    var encoder = new EntryEncoder();
    var entry = new LogEntry { Category = "CrashHelper", Template = "seq {Seq}" };
    entry.Properties.Add(new("Seq", 0L));
    Span<byte> line = stackalloc byte[32];
    for (var sequence = first; sequence < first + count; sequence++)
    {
        entry.TimestampNs = LogEntry.NowNs(TimeProvider.System);
        entry.Properties[0] = new("Seq", sequence);
        encoder.UseStrings(pipeline.Wal.Strings);
        encoder.Encode(entry);
        if (pipeline.Append(encoder))
        {
            Report(line[..FormatLine((byte)'A', sequence, line)]);
        }
    }

    Report("LOGGED\n"u8);
    Thread.Sleep(Timeout.Infinite);
    return 0;
}

int RunCheckpoint(string directory, long first)
{
    Directory.CreateDirectory(directory);
    var checkpoint = new Checkpoint(new FileSystem(), directory);
    checkpoint.Load();
    Report("READY\n"u8);
    Span<byte> line = stackalloc byte[32];
    for (var i = first; ; i++)
    {
        checkpoint.Save(new WalPosition(i, 8 * i));
        Report(line[..FormatLine((byte)'C', i, line)]);
    }
}

// "<tag> <value>\n" in ASCII; returns the bytes written.
static int FormatLine(byte tag, long value, Span<byte> destination)
{
    destination[0] = tag;
    destination[1] = (byte)' ';
    if (!value.TryFormat(destination[2..], out var digits, default, CultureInfo.InvariantCulture))
    {
        throw new InvalidOperationException("report line buffer too small");
    }

    destination[2 + digits] = (byte)'\n';
    return digits + 3;
}

void Report(ReadOnlySpan<byte> bytes)
{
    lock (stdoutLock)
    {
        stdout.Write(bytes);
    }
}
