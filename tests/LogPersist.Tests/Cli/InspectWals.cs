using System.IO.Abstractions;
using System.Security.Cryptography;
using LogPersist.Cli;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Cli;

/// <summary>WAL directories for the read commands' tests, written by the real WAL and entry encoder.</summary>
internal static class InspectWals
{
    public const long SegmentBytes = 4096;

    /// <summary>The timestamp of entry 0; entry i is i seconds later.</summary>
    public static readonly DateTimeOffset Epoch = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static LogEntry Entry(int i, EntryLevel level = EntryLevel.Information, string? message = null) => new()
    {
        TimestampNs = (Epoch.ToUnixTimeMilliseconds() + i * 1000L) * 1_000_000,
        Level = level,
        Category = "Orders",
        Message = message ?? $"order {i} placed",
    };

    /// <summary>Appends <paramref name="entries"/> to a WAL in <paramref name="directory"/>, saves its stream.json, and closes it.</summary>
    public static void Write(string directory, IEnumerable<LogEntry> entries, LineFormat format = LineFormat.Json, long? maxDiskBytes = null)
    {
        using (var wal = WriteAheadLog.Open(Wals.Options(directory, SegmentBytes, maxDiskBytes)))
        {
            Append(wal, entries);
        }

        Describe(directory, format);
    }

    /// <summary>Opens the WAL in <paramref name="directory"/> as a live writer would, naming itself in the owner file.</summary>
    public static WriteAheadLog OpenHeld(string directory) =>
        WriteAheadLog.Open(new WalOptions
        {
            Directory = directory,
            SegmentBytes = SegmentBytes,
            MaxDiskBytes = SegmentBytes * 1024,
            OwnerDescription = "orders/orders-0",

            // No renewal while a test compares the directory before and after a read-only command.
            Lease = new LeaseOptions { Duration = TimeSpan.FromHours(2), Heartbeat = TimeSpan.FromHours(1), Environment = name => name == "POD_NAME" ? "orders-0" : name == "NODE_NAME" ? "node-7" : null },
        });

    public static void Append(WriteAheadLog wal, IEnumerable<LogEntry> entries)
    {
        var encoder = new EntryEncoder();
        foreach (var entry in entries)
        {
            Assert.True(wal.Append(encoder.Encode(entry)));
        }
    }

    public static void Describe(string directory, LineFormat format) =>
        new StreamDescription
        {
            Labels = LabelSet.Create([new("service_name", "orders"), new("pod", "orders-0")]),
            LineFormat = format,
        }.Save(new FileSystem(), directory);

    /// <summary>Every record of a closed WAL with its position and the position after it.</summary>
    public static List<WalRecord> Records(string directory)
    {
        var records = new List<WalRecord>();
        using var reader = new WalReader(new FileSystem(), directory, WalPosition.Start, long.MaxValue);
        while (reader.TryRead(out var record))
        {
            records.Add(record with { Payload = record.Payload.ToArray() });
        }

        return records;
    }

    /// <summary>Saves the checkpoint with the real <see cref="Checkpoint"/> class, without deleting the segments behind it.</summary>
    public static void SaveCheckpoint(string directory, WalPosition position) =>
        Assert.True(new Checkpoint(new FileSystem(), directory).Save(position));

    public static List<long> Segments(string directory) =>
        [.. Directory.GetFiles(directory, "*.wal").Select(p => long.Parse(Path.GetFileNameWithoutExtension(p), System.Globalization.CultureInfo.InvariantCulture)).Order()];

    public static string SegmentPath(string directory, long sequence) => Path.Combine(directory, SegmentNames.FileName(sequence));

    /// <summary>Every file's name, length and content hash, and the checkpoint's bytes: what "nothing changed" means.</summary>
    public static string Snapshot(string directory) => string.Join("\n", Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(path =>
    {
        if (Path.GetFileName(path) == DirectoryLock.LockFileName)
        {
            // Held exclusively while a writer is open, so it cannot be read; it never has content.
            return $"{Path.GetFileName(path)} {new FileInfo(path).Length}";
        }

        var bytes = File.ReadAllBytes(path);
        return $"{Path.GetFileName(path)} {bytes.Length} {Convert.ToHexString(SHA256.HashData(bytes))}";
    }));

    /// <summary>Runs the tool with a given clock, or with an output writer the test can watch while the command runs.</summary>
    public static async Task<CliResult> RunAsync(string[] args, TimeProvider? time = null, TextWriter? output = null, CancellationToken cancellation = default)
    {
        using var ownOutput = new StringWriter();
        using var error = new StringWriter();
        var writer = output ?? ownOutput;
        var plain = CliContext.ForWriters(writer, error, cancellation);
        var context = new CliContext
        {
            Out = plain.Out,
            Error = plain.Error,
            Console = plain.Console,
            Cancellation = cancellation,
            Time = time ?? TimeProvider.System,
        };
        var exitCode = await CliApp.InvokeAsync(args, context);
        return new CliResult(exitCode, writer.ToString() ?? "", error.ToString());
    }
}

/// <summary>A text writer whose lines can be read while a command is still writing them.</summary>
internal sealed class WatchedWriter : StringWriter
{
    private readonly object _lock = new();

    public override void Write(char value)
    {
        lock (_lock)
        {
            base.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            base.Write(value);
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_lock)
        {
            base.WriteLine(value);
        }
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    public string[] Lines()
    {
        lock (_lock)
        {
            return ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the lines written so far, or fails after 10 s.</summary>
    public async Task<string[]> WaitForAsync(Func<string[], bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var lines = Lines();
            if (condition(lines))
            {
                return lines;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out; output so far:\n" + string.Join("\n", lines));
            await Task.Delay(20);
        }
    }
}
