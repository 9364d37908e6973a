using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class TailCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("tail", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
