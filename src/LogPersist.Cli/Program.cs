namespace LogPersist.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => CliApp.InvokeAsync(args, CliContext.ForProcess());
}
