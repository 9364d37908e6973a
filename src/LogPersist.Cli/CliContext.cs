using System.IO.Abstractions;
using System.Runtime.InteropServices;
using Spectre.Console;

namespace LogPersist.Cli;

/// <summary>
/// Where a command writes and what it runs against. The process uses the real console; tests pass
/// writers and read what the command printed.
/// </summary>
internal sealed class CliContext
{
    /// <summary>Plain output: data lines (<c>tail</c>, <c>export</c> to stdout) and <c>--json</c> documents.</summary>
    public required TextWriter Out { get; init; }

    /// <summary>Errors and warnings.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Tables and progress for people, written to <see cref="Out"/>'s terminal.</summary>
    public required IAnsiConsole Console { get; init; }

    /// <summary>Stopped by Ctrl+C or SIGTERM in the process; by the test in tests.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Environment variables (LOKI_URL, LOKI_TENANT, …); replaceable in tests.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>The WAL directories' files, read and (by drain) deleted through it; replaceable in tests.</summary>
    public IFileSystem FileSystem { get; init; } = new FileSystem();

    /// <summary>The clock for rates and ship lag; replaceable in tests.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Test hook: the HTTP handler of Loki clients the tool creates.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// The real console. The first SIGINT or SIGTERM cancels <see cref="Cancellation"/> instead of
    /// killing the process, so a command can stop cleanly (drain keeps its checkpoint, run forwards
    /// the signal to its child); a second one ends the process.
    /// </summary>
    public static CliContext ForProcess()
    {
        var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext signal)
        {
            if (!stop.IsCancellationRequested)
            {
                signal.Cancel = true;
                LastSignal = signal.Signal;
                stop.Cancel();
            }
        }

        // Kept alive for the life of the process.
        s_signals = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        var console = AnsiConsole.Console;
        if (System.Console.IsOutputRedirected)
        {
            // Not a terminal: no width to fit, and tables read better unwrapped in a log or a file.
            console.Profile.Width = 200;
        }

        return new CliContext
        {
            Out = System.Console.Out,
            Error = System.Console.Error,
            Console = console,
            Cancellation = stop.Token,
        };
    }

    /// <summary>The signal that cancelled <see cref="Cancellation"/> in the process, for <c>run</c> to forward.</summary>
    public static PosixSignal? LastSignal { get; private set; }

    private static PosixSignalRegistration[]? s_signals;

    /// <summary>A context writing to <paramref name="output"/> and <paramref name="error"/>, without colours or live widgets.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error, CancellationToken cancellation = default) => new()
    {
        Out = output,
        Error = error,
        Console = PlainConsole(output),
        Cancellation = cancellation,
    };

    private static IAnsiConsole PlainConsole(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 240;
        return console;
    }
}
