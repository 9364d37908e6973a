using System.Buffers.Binary;
using System.Globalization;
using System.IO.Abstractions;
using System.Threading.Channels;
using LogPersist;
using LogPersist.Wal;

// A child process for the crash tests: it does durable work in a loop and reports each completed
// step on stdout, until the parent kills it with SIGKILL.
//
//   append DIR SEGMENT_BYTES THREADS FIRST_SEQUENCE   appends sequence numbers; prints "A <n>" after Append returned true
//   checkpoint DIR FIRST_INDEX                        saves checkpoints (i, 8*i); prints and flushes "P <i>" before each Save
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: append DIR SEGMENT_BYTES THREADS FIRST_SEQUENCE | checkpoint DIR FIRST_INDEX");
    return 2;
}

var output = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
var printer = Task.Run(async () =>
{
    var stdout = Console.Out;
    while (await output.Reader.WaitToReadAsync())
    {
        while (output.Reader.TryRead(out var line))
        {
            stdout.Write(line);
            stdout.Write('\n');
        }

        stdout.Flush();
    }
});

switch (args[0])
{
    case "append":
        return RunAppend(args[1], long.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), long.Parse(args[4], CultureInfo.InvariantCulture));
    case "checkpoint":
        return RunCheckpoint(args[1], long.Parse(args[2], CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine("unknown mode " + args[0]);
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
    output.Writer.TryWrite("READY");
    var next = first - 1;
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        var payload = new byte[170];
        while (true)
        {
            var sequence = Interlocked.Increment(ref next);
            BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
            payload.AsSpan(8).Fill((byte)sequence);
            if (wal.Append(payload))
            {
                output.Writer.TryWrite("A " + sequence.ToString(CultureInfo.InvariantCulture));
            }
        }
    }) { IsBackground = true }).ToList();
    workers.ForEach(t => t.Start());
    workers.ForEach(t => t.Join());
    return 0;
}

int RunCheckpoint(string directory, long first)
{
    var checkpoint = new Checkpoint(new FileSystem(), directory);
    checkpoint.Load();
    output.Writer.TryWrite("READY");
    output.Writer.Complete();
    printer.Wait();

    // Written synchronously before each save: when the process dies, the last line names the one
    // save that may have been in flight, and every earlier one has completed.
    var stdout = Console.Out;
    for (var i = first; ; i++)
    {
        stdout.Write("P " + i.ToString(CultureInfo.InvariantCulture) + "\n");
        stdout.Flush();
        checkpoint.Save(new WalPosition(i, 8 * i));
    }
}
