using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("export", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
