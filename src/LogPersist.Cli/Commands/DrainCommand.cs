using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class DrainCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("drain", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
