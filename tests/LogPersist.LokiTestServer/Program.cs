using System.Globalization;
using System.Runtime.InteropServices;
using LogPersist.LokiTestServer;

// Runs the test server on its own, so a benchmark can keep the decoding off the client's CPU budget:
//   LogPersist.LokiTestServer --port 3100
// prints "listening http://127.0.0.1:3100/" once ready and exits on stdin EOF, SIGTERM or SIGINT.
var port = 0;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--port" && i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
    {
        port = parsed;
    }
    else
    {
        await Console.Error.WriteLineAsync("usage: LogPersist.LokiTestServer [--port N]");
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

await using var server = await LokiTestServer.StartAsync(new LokiTestServerOptions { Port = port });
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
