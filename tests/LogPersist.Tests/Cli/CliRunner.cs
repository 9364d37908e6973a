using LogPersist.Cli;

namespace LogPersist.Tests.Cli;

/// <summary>What a command printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error);

/// <summary>Runs the <c>logpersist</c> command line in-process, as a test would type it.</summary>
internal static class CliRunner
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs with an environment (missing variables are unset) and an optional cancellation.</summary>
    public static async Task<CliResult> RunAsync(Dictionary<string, string>? environment, string[] args, HttpMessageHandler? handler = null, CancellationToken cancellation = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = CliContext.ForWriters(output, error, cancellation);
        context = new CliContext
        {
            Out = context.Out,
            Error = context.Error,
            Console = context.Console,
            Cancellation = cancellation,
            Environment = name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
            HttpHandler = handler,
        };
        var exitCode = await CliApp.InvokeAsync(args, context);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
