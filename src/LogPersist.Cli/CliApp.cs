using System.CommandLine;
using System.CommandLine.Help;
using LogPersist.Cli.Commands;

namespace LogPersist.Cli;

/// <summary>The <c>logpersist</c> command line: parsing, help and the exit-code contract.</summary>
internal static class CliApp
{
    public static Command Build(CliContext context)
    {
        // Named here rather than after the assembly (LogPersist.Cli), so help says what people type.
        var root = new Command("logpersist", "Inspect, verify, read and ship LogPersist write-ahead logs, and run a process with its output kept in one.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(InspectCommand.Create(context));
        root.Subcommands.Add(VerifyCommand.Create(context));
        root.Subcommands.Add(TailCommand.Create(context));
        root.Subcommands.Add(ExportCommand.Create(context));
        root.Subcommands.Add(DrainCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; a usage error prints what is wrong and returns <see cref="ExitCodes.Usage"/>.</summary>
    public static async Task<int> InvokeAsync(string[] args, CliContext context)
    {
        var root = Build(context);
        var parsed = root.Parse(args);
        var invocation = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // Signals are the context's to handle (see CliContext.ForProcess), not the parser's.
            ProcessTerminationTimeout = null,
            // Usage errors raised by a command must keep their exit code (below).
            EnableDefaultExceptionHandler = false,
        };
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await context.Error.WriteLineAsync(error.Message).ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync("Run 'logpersist --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        try
        {
            return await parsed.InvokeAsync(invocation, context.Cancellation).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            await context.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("Stopped.").ConfigureAwait(false);
            return ExitCodes.Problems;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await context.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return ExitCodes.Problems;
        }
    }
}

/// <summary>A command's arguments are well-formed but unusable (a directory that is not a WAL, a bad URL): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
