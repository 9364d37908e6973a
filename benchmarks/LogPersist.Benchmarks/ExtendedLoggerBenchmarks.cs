using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using LogPersist.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ILogger = Microsoft.Extensions.Logging.ILogger;

namespace LogPersist.Benchmarks;

/// <summary>
/// One <c>[LoggerMessage]</c> call (3 int properties, Information) through the framework's plain logger
/// factory; through the extended one that Microsoft.Extensions.Telemetry installs with
/// <c>EnableEnrichment()</c> and <c>EnableRedaction()</c> (no enricher, nothing classified); and under its
/// random probabilistic sampler keeping every entry or none. Each into LogPersist and into a provider
/// that does nothing: the no-op rows are the framework's own cost; the LogPersist rows show whether
/// LogPersist costs more than that, and what a sampled-out call costs.
/// </summary>
/// <remarks>
/// As in <see cref="LoggingHotPathBenchmarks"/>: a fresh factory (and WAL directory) per iteration, one
/// invocation of <see cref="CallsPerInvoke"/> calls, so Mean and Allocated are per call.
/// </remarks>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class ExtendedLoggerBenchmarks
{
    private const int CallsPerInvoke = 400_000;

    private string _directory = "";
    private ServiceProvider? _services;
    private ILogger? _logger;

    /// <summary>Which logger factory the call goes through.</summary>
    public enum FactoryKind
    {
        Plain,
        Extended,

        /// <summary><c>AddRandomProbabilisticSampler(1)</c>: every call is kept.</summary>
        SampledKept,

        /// <summary><c>AddRandomProbabilisticSampler(0)</c>: every call is sampled out before any provider.</summary>
        SampledOut,
    }

    /// <summary>Where the entry goes.</summary>
    public enum SinkKind
    {
        LogPersist,
        NoOp,
    }

    [ParamsAllValues]
    public FactoryKind Factory { get; set; }

    [ParamsAllValues]
    public SinkKind Sink { get; set; }

    [GlobalSetup]
    public void GlobalSetup() => Environment.SetEnvironmentVariable("LOKI_URL", null);

    [IterationSetup]
    public void Open()
    {
        _directory = Path.Combine(Path.GetTempPath(), "logpersist-bench", "extended-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var services = new ServiceCollection();
        services.AddLogging(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Information);
            if (Sink == SinkKind.LogPersist)
            {
                builder.AddLogPersist(options =>
                {
                    options.Directory = Path.Combine(_directory, "wal");
                    options.ServiceName = "bench";
                    options.Instance = "i1";
                    options.MaxDiskBytes = 4L << 30;
                    options.LokiUrl = null;
                });
            }
            else
            {
                builder.AddProvider(new NoOpProvider());
            }

            if (Factory == FactoryKind.Extended)
            {
                builder.EnableEnrichment();
                builder.EnableRedaction();
            }
            else if (Factory is FactoryKind.SampledKept or FactoryKind.SampledOut)
            {
                builder.AddRandomProbabilisticSampler(Factory == FactoryKind.SampledKept ? 1 : 0);
            }
        });
        if (Factory == FactoryKind.Extended)
        {
            services.AddRedaction();
        }

        _services = services.BuildServiceProvider();
        _logger = _services.GetRequiredService<ILoggerFactory>().CreateLogger("LogPersist.Benchmarks.Requests");
    }

    [IterationCleanup]
    public void Close()
    {
        _services?.Dispose();
        _services = null;
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public void Call()
    {
        var logger = _logger!;
        for (var i = 0; i < CallsPerInvoke; i++)
        {
            RequestLog.Answered(logger, i, 200, i & 1023);
        }
    }

    /// <summary>A provider whose loggers take every entry and keep nothing.</summary>
    private sealed class NoOpProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => NoOpLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class NoOpLogger : ILogger
        {
            public static readonly NoOpLogger Instance = new();

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
            }
        }
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.Default
            .WithLaunchCount(3)
            .WithWarmupCount(2)
            .WithIterationCount(6)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("Extended"));
    }
}
