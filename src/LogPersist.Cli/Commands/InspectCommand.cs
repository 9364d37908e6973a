using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("inspect", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
