using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;

namespace LogPersist.Benchmarks;

/// <summary>
/// One stream logging at twice Loki's per-stream rate for SECONDS, next to a quiet stream, against the
/// test server's per-stream limit (RATE_KIB per second, burst five times that, Loki's ratio), in the 2.x
/// (per entry) and 3.x (whole stream) modes. Three ways to cope, in the same run: the shipper's own
/// (the stream split into shards, what is still refused paced); the shipper's pacing alone (the stream's
/// labels are at MaxLabelNames, so no shard label fits: the stream is throttled at the limit Loki names);
/// and the application spreading the hot entries over four values of a label of its own. Reports how far the hot stream is behind when
/// logging stops, how long until everything is stored, the quiet stream's latency, 429s, entries held
/// (appended again at the WAL's tail), duplicates and streams.
/// </summary>
internal static class StreamRateHarness
{
    private const int LineBytes = 500;

    public static async Task<int> RunAsync(int seconds, int rateKib)
    {
        Console.WriteLine($"| Loki mode | strategy | hot entries logged | stored when logging stopped | all stored after (s) | quiet latency p50 / max (ms) | 429s | held | duplicates | streams |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var dialect in (LokiDialect[])[LokiDialect.V2_9, LokiDialect.V3])
        {
            foreach (var (strategy, shards, maxLabelNames) in ((string, int, int)[])[("shipper: shards, then pacing", 1, 15), ("shipper: pacing alone (labels full)", 1, 4), ("application: 4 label values", 4, 15)])
            {
                await RunOnceAsync(dialect, strategy, shards, maxLabelNames, seconds, (long)rateKib << 10).ConfigureAwait(false);
            }
        }

        return 0;
    }

    private static async Task RunOnceAsync(LokiDialect dialect, string strategy, int shards, int maxLabelNames, int seconds, long rate)
    {
        var directory = Path.Combine(Path.GetTempPath(), "logpersist-stream-rate-" + Guid.NewGuid().ToString("N"));
        await using var server = await LokiTestServer.LokiTestServer.StartAsync(new LokiTestServerOptions
        {
            Dialect = dialect,
            PerStreamRateBytesPerSecond = rate,
            PerStreamBurstBytes = rate * 5,
        }).ConfigureAwait(false);
        try
        {
            await using var pipeline = LogPipeline.Open(new LogPersistOptions
            {
                Directory = directory,
                ServiceName = "bench",
                Instance = "bench-0",
                LokiUrl = server.BaseAddress.ToString(),
                LabelProperties = ["team", "shard"],
                MaxLabelNames = maxLabelNames,
                StructuredMetadata = StructuredMetadataMode.Off,
                Environment = _ => null,
            });

            // Watch the quiet stream arrive: the first time each of its lines is seen stored.
            var seen = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            using var stopWatching = new CancellationTokenSource();
            var watcher = Task.Run(async () =>
            {
                while (!stopWatching.IsCancellationRequested)
                {
                    var now = Stopwatch.GetTimestamp();
                    foreach (var entry in server.Entries)
                    {
                        if (entry.LabelMap.GetValueOrDefault("team") == "quiet")
                        {
                            seen.TryAdd(Message(entry.Line), now);
                        }
                    }

                    await Task.Delay(50).ConfigureAwait(false);
                }
            });

            // Twice the rate, in 10 ms steps; a quiet entry every 100 ms.
            var padding = new string('x', LineBytes - 40);
            var perStep = Math.Max(1, (int)(2 * rate / 100 / LineBytes));
            var logged = new Dictionary<string, long>(StringComparer.Ordinal);
            var hot = 0;
            var start = Stopwatch.GetTimestamp();
            for (var step = 0; step < seconds * 100; step++)
            {
                for (var i = 0; i < perStep; i++, hot++)
                {
                    pipeline.Append(Entry("hot", (hot % shards).ToString(CultureInfo.InvariantCulture), $"hot {hot} {padding}"));
                }

                if (step % 10 == 0)
                {
                    var message = $"quiet {step}";
                    logged[message] = Stopwatch.GetTimestamp();
                    pipeline.Append(Entry("quiet", "0", message));
                }

                var due = start + ((step + 1) * Stopwatch.Frequency / 100);
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left).ConfigureAwait(false);
                }
            }

            var stopped = Stopwatch.GetTimestamp();
            var storedAtStop = server.Entries.Count(e => e.LabelMap.GetValueOrDefault("team") == "hot");
            var deadline = TimeSpan.FromSeconds((seconds * 6) + 60);
            while (server.Entries.Count < hot + logged.Count && Stopwatch.GetElapsedTime(stopped) < deadline)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }

            var allAfter = Stopwatch.GetElapsedTime(stopped).TotalSeconds;
            var complete = server.Entries.Count >= hot + logged.Count;
            await Task.Delay(200).ConfigureAwait(false);
            await stopWatching.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);

            var latencies = logged.Where(l => seen.ContainsKey(l.Key)).Select(l => Stopwatch.GetElapsedTime(l.Value, seen[l.Key]).TotalMilliseconds).Order().ToList();
            var stored = server.Entries;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {dialect} | {strategy} | {hot:N0} | {storedAtStop:N0} ({100.0 * storedAtStop / hot:F0} %) | " +
                $"{(complete ? allAfter.ToString("F1", CultureInfo.InvariantCulture) : "INCOMPLETE")} | " +
                $"{(latencies.Count > 0 ? latencies[latencies.Count / 2] : double.NaN):F0} / {(latencies.Count > 0 ? latencies[^1] : double.NaN):F0} | " +
                $"{server.Requests.Count(r => r.Status == 429)} | {pipeline.Shipper!.Metrics.HeldTotal:N0} | {server.DuplicatesDropped:N0} | {stored.Select(e => e.Labels).Distinct().Count()} |"));
            if (stored.Select(e => e.Line).Distinct().Count() is var distinct && distinct != stored.Count)
            {
                Console.WriteLine($"  ({stored.Count - distinct} entries stored twice)");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static byte[] Entry(string team, string shard, string message)
    {
        var entry = new LogEntry { Category = "bench", Template = message, TimestampNs = LogEntry.NowNs(TimeProvider.System) };
        entry.Properties.Add(new("team", team));
        entry.Properties.Add(new("shard", shard));
        return new EntryEncoder().Encode(entry).ToArray();
    }

    private static string Message(string line) => JsonDocument.Parse(line).RootElement.GetProperty("msg").GetString()!;
}
