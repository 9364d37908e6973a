using System.Text.Json;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.LokiTestServer;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Tests.Support;

/// <summary>Helpers for end-to-end shipping tests: entries with sequence numbers, shippers tuned for fast tests.</summary>
internal static class Shipping
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>An encoded entry logged now whose message is <paramref name="message"/>, with the property <c>team</c> (a label property in stream tests).</summary>
    public static byte[] TeamEntry(string team, string message)
    {
        var entry = new LogEntry { Category = "orders", Template = message, TimestampNs = LogEntry.NowNs(TimeProvider.System) };
        entry.Properties.Add(new("team", team));
        return new EntryEncoder().Encode(entry).ToArray();
    }

    /// <summary>The <c>msg</c> field of every JSON line the server stored.</summary>
    public static List<string> Messages(LogPersist.LokiTestServer.LokiTestServer server) => [.. server.Entries.Select(e => Message(e.Line))];

    /// <summary>The <c>msg</c> field of a JSON line.</summary>
    public static string Message(string line) => JsonDocument.Parse(line).RootElement.GetProperty("msg").GetString()!;

    public static ShipperOptions Options(Uri loki, Func<ShipperOptions, ShipperOptions>? configure = null) => new()
    {
        Loki = new LokiClientOptions
        {
            Endpoint = loki,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(100),
            CircuitBreakDuration = TimeSpan.FromMilliseconds(500),
            AttemptTimeout = TimeSpan.FromSeconds(5),
        },
        DetectedLabels = [new("service_name", "tests"), new("pod", "tests-0")],
        BatchMaxBytes = 16 * 1024,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        PollInterval = TimeSpan.FromMilliseconds(5),
        StructuredMetadata = StructuredMetadataMode.Off,
    };

    public static LogEntry Entry(long sequence, long? timestampNs = null, string? traceId = null)
    {
        var entry = new LogEntry
        {
            TimestampNs = timestampNs ?? LogEntry.NowNs(TimeProvider.System),
            Category = "Tests",
            Template = "seq {Seq}",
            TraceId = traceId,
            SpanId = traceId is null ? null : "b7ad6b7169203331",
        };
        entry.Properties.Add(new("Seq", sequence));
        return entry;
    }

    public static void Log(WriteAheadLog wal, long from, long count, Func<long, LogEntry>? make = null)
    {
        var encoder = new EntryEncoder();
        for (var i = from; i < from + count; i++)
        {
            Assert.True(wal.Append(encoder.Encode((make ?? (s => Entry(s)))(i))));
        }
    }

    /// <summary>The "Seq" of each stored entry that carries one (markers do not).</summary>
    public static List<long> Sequences(IEnumerable<StoredEntry> entries)
    {
        var result = new List<long>();
        foreach (var entry in entries)
        {
            if (entry.Line.StartsWith('{'))
            {
                using var json = JsonDocument.Parse(entry.Line);
                if (json.RootElement.TryGetProperty("Seq", out var seq))
                {
                    result.Add(seq.GetInt64());
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The "Seq" property of an encoded entry (a WAL payload), read with the format's value reader; false for a
    /// payload that is not an entry or has no integer Seq.
    /// </summary>
    public static bool TryReadSequence(ReadOnlySpan<byte> payload, out long sequence)
    {
        sequence = 0;
        if (!EntryView.TryDecode(payload, out var view))
        {
            return false;
        }

        var reader = view.PropertyReader();
        for (var i = 0; i < view.PropertyCount; i++)
        {
            if (!reader.TryReadName(out var name) || !reader.TryReadValue(out var value))
            {
                return false;
            }

            if (name.SequenceEqual("Seq"u8) && value.Tag == ValueTag.Integer)
            {
                sequence = value.Integer;
                return true;
            }

            if (!reader.TrySkipItems(value))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; on time-out, fails with <paramref name="what"/> and what <paramref name="state"/> then says.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, Func<string>? state = null)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail("Timed out waiting for " + what + (state is null ? "" : "\n" + state()));
            }

            await Task.Delay(10, CancellationToken.None);
        }
    }
}
