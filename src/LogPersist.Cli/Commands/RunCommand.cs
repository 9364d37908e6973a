using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("run", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
