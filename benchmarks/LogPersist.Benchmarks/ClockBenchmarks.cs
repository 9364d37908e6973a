using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using LogPersist.Entries;

namespace LogPersist.Benchmarks;

/// <summary>
/// What stamping one log entry costs: the wall clock as LogPersist read it before (through
/// <see cref="TimeProvider.System"/>), <see cref="DateTime.UtcNow"/> itself, the monotonic counter
/// alone, and the anchored clock that <see cref="LogEntry.NowNs"/> uses now for the system provider.
/// </summary>
public class ClockBenchmarks
{
    private static readonly TimeProvider System = TimeProvider.System;

    [Benchmark(Baseline = true)]
    public long TimeProviderGetUtcNow() => (System.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    [Benchmark]
    public long DateTimeUtcNow() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    [Benchmark]
    public long StopwatchGetTimestamp() => Stopwatch.GetTimestamp();

    [Benchmark]
    public long WallClockNowNs() => WallClock.System.NowNs();

    [Benchmark]
    public long LogEntryNowNs() => LogEntry.NowNs(System);
}
