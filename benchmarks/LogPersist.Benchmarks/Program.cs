using BenchmarkDotNet.Running;
using LogPersist.Benchmarks;

// BenchmarkDotNet benchmarks:     dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- --filter '*WalAppend*'
// Logging call vs peer loggers:  dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- --filter '*LoggingHotPath*'
// Encoding hostile entries:      dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- --filter '*HostileEntry*'
// Encoding one logger call:     dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- --filter '*LoggerCallEncode*' --launchCount 3
// Wall-clock throughput:         dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- throughput THREADS RECORDS_PER_THREAD [MODE [PAYLOAD_BYTES]]
// End-to-end shipping:           dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- ship [ENTRIES [ROUNDS [STREAMS [SPAN_MINUTES]]]]
// adoption of a gone WAL:       dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- adopt [ENTRIES [ROUNDS]]
// pod death to claim, lease vs Kubernetes liveness: dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- adopt-liveness [ENTRIES [ROUNDS]]
// logpersist drain vs shipper:  dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- drain [ENTRIES [ROUNDS]]
// Open-to-first-append timing:    dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- recovery [BACKLOG_MIB [DISK_CAP_MIB...]]
// logpersist run vs its child alone: dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- run-throughput [LINES [ROUNDS [TOOL_DLL]]]
// run --files vs the pipe path:  dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- run-files [LINES [ROUNDS [PACED_LINES [RATE [TOOL_DLL]]]]]
// A stream over Loki's rate:    dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- stream-rate [SECONDS [RATE_KIB]]
// Bytes on disk per entry:       dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- entry-bytes [ENTRIES]
// Timestamp sources:            dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- --filter '*ClockBenchmarks*'
// Native AOT vs JIT start-up:    dotnet run -c Release --project benchmarks/LogPersist.Benchmarks -- startup AOT_BINARY JIT_DLL [ROUNDS]
if (args.Length > 2 && args[0] == "startup")
{
    return await StartupHarness.RunAsync(args[1], args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10);
}

if (args.Length > 0 && args[0] == "entry-bytes") return EntryBytesHarness.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);

if (args.Length > 0 && args[0] == "stream-rate")
{
    return await StreamRateHarness.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 256);
}

if (args.Length > 0 && args[0] == "run-throughput") return RunThroughputHarness.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2_000_000, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3, args.Length > 3 ? args[3] : null);

if (args.Length > 0 && args[0] == "run-files")
{
    return RunFilesHarness.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3,
        args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 10_000,
        args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 2_000,
        args.Length > 5 ? args[5] : null);
}

// The writer process of run-files: line-writer paced|burst DIRECTORY|- FILES FIRST LINES RATE
if (args.Length > 6 && args[0] == "line-writer") return RunFilesHarness.Write(args[1..]);

if (args.Length > 0 && args[0] == "recovery")
{
    // recovery [BACKLOG_MIB [DISK_CAP_MIB...]]; the caps default to 8 GiB (above the backlog) and the WAL's default of 1 GiB, measured side by side.
    return RecoveryMeasurement.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1024,
        args.Length > 2 ? [.. args[2..].Select(a => long.Parse(a, System.Globalization.CultureInfo.InvariantCulture) << 20)] : [8192L << 20, 1024L << 20]);
}

if (args.Length > 0 && args[0] == "ship")
{
    return ShippingHarness.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3,
        args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1,
        args.Length > 4 ? double.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 0);
}

if (args.Length > 0 && args[0] == "adopt")
{
    return AdoptionHarness.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
}

if (args.Length > 0 && args[0] == "adopt-liveness")
{
    return AdoptionLivenessHarness.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
}

if (args.Length > 0 && args[0] == "drain")
{
    return DrainHarness.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
}

if (args.Length > 0 && args[0] == "throughput")
{
    // throughput THREADS RECORDS_PER_THREAD [PageCache|Interval|Always [PAYLOAD_BYTES]]
    return ThroughputHarness.Run(
        int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
        args.Length > 3 ? Enum.Parse<LogPersist.WalDurability>(args[3]) : LogPersist.WalDurability.PageCache,
        args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 32);
}

BenchmarkSwitcher.FromAssembly(typeof(ShippingHarness).Assembly).Run(args);
return 0;
