using System.Buffers.Binary;
using System.Globalization;
using System.IO.Abstractions;
using LogPersist.Wal;

// A child process for the crash tests: it does durable work in a loop and reports each completed
// step on stdout, until the parent kills it with SIGKILL.
//
//   append DIR SEGMENT_BYTES THREADS FIRST_SEQUENCE   appends sequence numbers; prints "A <n>" after Append returned true
//   checkpoint DIR FIRST_INDEX                        saves checkpoints (i, 8*i); prints "C <i>" after Save returned
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
