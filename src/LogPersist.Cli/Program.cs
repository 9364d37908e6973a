namespace LogPersist.Cli;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        try
        {
            return await CliApp.InvokeAsync(args, CliContext.ForProcess()).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A fault of the tool itself: the whole exception, for a bug report, and the "problems" exit code.
            await Console.Error.WriteLineAsync("logpersist failed unexpectedly: " + e).ConfigureAwait(false);
            return ExitCodes.Problems;
        }
    }
}
