using System.CommandLine;

namespace LogPersist.Cli.Reading;

/// <summary>Runs a read command's body, turning a <see cref="UsageException"/> into its message and exit code 2.</summary>
internal static class ReadAction
{
    public static void Set(Command command, CliContext context, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (result, cancellation) =>
        {
            try
            {
                return await action(result, cancellation).ConfigureAwait(false);
            }
            catch (UsageException e)
            {
                // Handled here as well as in CliApp: the parser's own exception handler would otherwise report it as a crash with exit code 1.
                await context.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
                return ExitCodes.Usage;
            }
        });
}
