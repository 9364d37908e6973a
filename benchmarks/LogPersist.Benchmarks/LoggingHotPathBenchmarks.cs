using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.Extensions.Logging;
using NLog.Extensions.Logging;
using Serilog;
using Serilog.Formatting.Compact;
using ZLogger;
using ZLogger.Formatters;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace LogPersist.Benchmarks;

/// <summary>
/// The cost of one <see cref="ILogger"/> call (a <c>[LoggerMessage]</c> method with 3 int properties, Information)
/// through each logger that writes it to a local file, all behind the same Microsoft.Extensions.Logging
/// <see cref="LoggerFactory"/>, with 1 and 2 calling threads.
/// </summary>
/// <remarks>
/// <para>
/// One invocation is <see cref="CallsPerInvoke"/> calls split evenly over <see cref="Threads"/>, so Mean and
/// Allocated are per call: with 2 threads Mean is wall time / calls (the inverse of throughput), and each
/// caller saw about twice that.
/// </para>
/// <para>
/// Every iteration builds a fresh logger factory writing into a new directory under
/// <c>&lt;temp&gt;/logpersist-bench</c> and disposes it and deletes the directory afterwards, so no
/// iteration inherits another's backlog or file, the WAL never reaches its disk cap, and disk use stays
/// bounded. <see cref="Measure"/> says where the timed work ends: <see cref="Measured.Calls"/> when the
/// last call returns (background work that runs meanwhile competes for the same cores and its allocations
/// are counted, but a backlog left then is not); <see cref="Measured.CallsAndDrain"/> when every entry is
/// in its file, in the OS page cache — the state in which it survives the death of the process.
/// </para>
/// </remarks>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class LoggingHotPathBenchmarks
{
    private const int CallsPerInvoke = 400_000;
    private const string Category = "LogPersist.Benchmarks.Requests";

    private string _directory = "";
    private ILoggerFactory? _factory;
    private NLog.LogFactory? _nlog;
    private ILogger? _logger;
    private bool _inFileOnReturn;

    /// <summary>Where the timed work ends.</summary>
    public enum Measured
    {
        /// <summary>When the last log call returns.</summary>
        Calls,

        /// <summary>
        /// When every entry is in its file (page cache). A peer gets there when its logger factory is disposed,
        /// which drains its queue and writes out its buffer, so that dispose is timed. A LogPersist entry is
        /// there when the call returns, so nothing is added; its dispose is left to the cleanup.
        /// </summary>
        CallsAndDrain,
    }

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsAllValues]
    public Measured Measure { get; set; }

    // An inherited LOKI_URL would start shipping: this benchmark measures the WAL only.
    [GlobalSetup]
    public void GlobalSetup() => Environment.SetEnvironmentVariable("LOKI_URL", null);

    /// <summary>
    /// LogPersist's provider in its default durability (PageCache), WAL only. The call encodes the template,
    /// the properties and the metadata into a per-thread buffer and appends it to the memory-mapped WAL; the
    /// message is rendered later, when a line is made for Loki. An iteration writes about 67 MB of records
    /// (149-byte payloads), so it rolls to a second 64 MiB segment once, about the rate at which a long run
    /// rolls; the cap is raised far above that, so no entry is ever evicted.
    /// </summary>
    [IterationSetup(Target = nameof(LogPersist))]
    public void OpenLogPersist()
    {
        Open(builder => builder.AddLogPersist(options =>
        {
            options.Directory = FilePath("wal");
            options.ServiceName = "bench";
            options.Instance = "i1";
            options.Durability = WalDurability.PageCache;
            options.MaxDiskBytes = 4L << 30;
            options.LokiUrl = null;
        }));
        _inFileOnReturn = true;
    }

    /// <summary>
    /// ZLogger's file provider, plain text with a timestamp, level and category prefix. The call renders the
    /// message to a string (ZLogger's default for standard <c>ILogger</c> calls), rents a pooled entry and
    /// posts it to an unbounded channel; a background task writes the UTF-8 line.
    /// </summary>
    [IterationSetup(Target = nameof(ZLoggerPlain))]
    public void OpenZLoggerPlain() => Open(builder => builder.AddZLoggerFile(FilePath("zlogger.log"), options =>
        options.UsePlainTextFormatter(formatter => formatter.SetPrefixFormatter(
            $"{0:utc-longdate} [{1:short}] {2}: ",
            (in MessageTemplate template, in LogInfo info) => template.Format(info.Timestamp, info.LogLevel, info.Category)))));

    /// <summary>ZLogger's file provider with its System.Text.Json formatter (defaults: timestamp, level, category, message, properties).</summary>
    [IterationSetup(Target = nameof(ZLoggerJson))]
    public void OpenZLoggerJson() => Open(builder => builder.AddZLoggerFile(FilePath("zlogger.json"), options => options.UseJsonFormatter()));

    /// <summary>
    /// Serilog through Serilog.Extensions.Logging, to Serilog.Sinks.File with <c>buffered: true</c> and the compact
    /// JSON formatter. The sink is synchronous: the call builds the event and formats it into the file's
    /// buffered writer under a lock; <c>buffered</c> only skips the flush after each event.
    /// </summary>
    [IterationSetup(Target = nameof(SerilogFile))]
    public void OpenSerilogFile() => Open(builder => builder.AddSerilog(
        new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.File(new CompactJsonFormatter(), FilePath("serilog.json"), buffered: true)
            .CreateLogger(),
        dispose: true));

    /// <summary>
    /// NLog through NLog.Extensions.Logging, to a synchronous FileTarget with a JSON layout (time, level, logger,
    /// rendered message, event properties), the file kept open and flushed once a second rather than after
    /// every entry — NLog's own performance advice, and the same trade as Serilog's <c>buffered</c>. Not
    /// wrapped in an async target: its default overflow action discards entries once 10,000 are queued,
    /// which this benchmark would hit.
    /// </summary>
    [IterationSetup(Target = nameof(NLogFile))]
    public void OpenNLogFile() => Open(builder =>
    {
        var factory = new NLog.LogFactory();
        var configuration = new NLog.Config.LoggingConfiguration(factory);
        var target = new NLog.Targets.FileTarget("file")
        {
            FileName = FilePath("nlog.json"),
            KeepFileOpen = true,
            AutoFlush = false,
            OpenFileFlushTimeout = 1,
            Layout = new NLog.Layouts.JsonLayout
            {
                Attributes =
                {
                    new NLog.Layouts.JsonAttribute("time", "${date:universalTime=true:format=o}"),
                    new NLog.Layouts.JsonAttribute("level", "${level}"),
                    new NLog.Layouts.JsonAttribute("logger", "${logger}"),
                    new NLog.Layouts.JsonAttribute("message", "${message}"),
                },
                IncludeEventProperties = true,
            },
        };
        configuration.AddRule(NLog.LogLevel.Info, NLog.LogLevel.Fatal, target);
        factory.Configuration = configuration;
        _nlog = factory;
        builder.AddNLog(new NLogProviderOptions(), _ => factory);
    });

    [IterationCleanup]
    public void Cleanup()
    {
        Close();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke)]
    public void LogPersist() => Run();

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public void ZLoggerPlain() => Run();

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public void ZLoggerJson() => Run();

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public void SerilogFile() => Run();

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public void NLogFile() => Run();

    private void Run()
    {
        var logger = _logger!;
        var calls = CallsPerInvoke / Threads;
        if (Threads == 1)
        {
            Log(logger, calls);
        }
        else
        {
            var workers = new Thread[Threads];
            for (var t = 0; t < workers.Length; t++)
            {
                workers[t] = new Thread(() => Log(logger, calls));
                workers[t].Start();
            }

            foreach (var worker in workers)
            {
                worker.Join();
            }
        }

        if (Measure == Measured.CallsAndDrain && !_inFileOnReturn)
        {
            Close();
        }
    }

    private static void Log(ILogger logger, int calls)
    {
        for (var i = 0; i < calls; i++)
        {
            RequestLog.Answered(logger, i, 200, i & 1023);
        }
    }

    private void Open(Action<ILoggingBuilder> addProvider)
    {
        _inFileOnReturn = false;
        _directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", "logging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _factory = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Information);
            addProvider(builder);
        });
        _logger = _factory.CreateLogger(Category);
    }

    /// <summary>Disposes the logger factory, which drains each provider's queue and writes out its buffer.</summary>
    private void Close()
    {
        _factory?.Dispose();
        _factory = null;
        _nlog?.Dispose();
        _nlog = null;
    }

    private string FilePath(string name) => Path.Combine(_directory, name);

    private sealed class Config : ManualConfig
    {
        // A fresh factory per iteration means one invocation per iteration. Three processes per benchmark:
        // on the 2-vCPU VM a logger's mean moved by up to 60% between runs, far more than its iterations
        // inside one process spread, so one process's iterations understate the error.
        // 3 processes x (2 warmups + 6 iterations) of 400,000 calls keep the whole run near 10 minutes.
        public Config() => AddJob(Job.Default
            .WithLaunchCount(3)
            .WithWarmupCount(2)
            .WithIterationCount(6)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("HotPath"));
    }
}

/// <summary>The call every logger in <see cref="LoggingHotPathBenchmarks"/> receives.</summary>
internal static partial class RequestLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Request {RequestId} answered {Status} in {ElapsedMs} ms")]
    public static partial void Answered(ILogger logger, int requestId, int status, int elapsedMs);
}
