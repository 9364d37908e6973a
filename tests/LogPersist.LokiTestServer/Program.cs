using System.Globalization;
using System.Runtime.InteropServices;
using LogPersist.LokiTestServer;

// Runs the test server on its own, so a benchmark can keep the decoding off the client's CPU budget:
//   LogPersist.LokiTestServer --port 3100 --loki 3
// prints "listening http://127.0.0.1:3100/" once ready and exits on stdin EOF, SIGTERM or SIGINT.
// --loki 2 answers as Loki 2.7, 3 (the default) as 3.6, and a release such as 2.9 or 3.7 as that release.
var port = 0;
var dialect = LokiDialect.V3;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--port" && i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
    {
        port = parsed;
    }
    else if (args[i] == "--loki" && i + 1 < args.Length && LokiDialect.TryParse(args[++i], out var chosen))
    {
        dialect = chosen;
    }
    else
    {
        await Console.Error.WriteLineAsync("usage: LogPersist.LokiTestServer [--port N] [--loki 2|3|2.7..2.9|3.0..3.7]");
        return 2;
    }
}

var exit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
void Exit(PosixSignalContext signal)
{
    signal.Cancel = true;
    exit.TrySetResult();
}

using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Exit);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Exit);

await using var server = await LokiTestServer.StartAsync(new LokiTestServerOptions { Port = port, Dialect = dialect });
Console.Out.WriteLine($"listening {server.BaseAddress}");
Console.Out.Flush();

_ = Task.Run(async () =>
{
    await using var stdin = Console.OpenStandardInput();
    await stdin.CopyToAsync(Stream.Null);
    exit.TrySetResult();
});

await exit.Task;
return 0;
