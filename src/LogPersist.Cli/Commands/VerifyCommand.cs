using System.CommandLine;

namespace LogPersist.Cli.Commands;

internal static class VerifyCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("verify", "Not built yet.");
        command.SetAction(_ => ExitCodes.Usage);
        return command;
    }
}
