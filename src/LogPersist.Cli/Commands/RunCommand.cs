using System.CommandLine;
using LogPersist.Cli.Run;
using LogPersist.Cli.Run.Controls;
using LogPersist.Cli.Run.Files;
using LogPersist.Pipeline;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist run [options] -- COMMAND ARGS…</c>: runs a process that is not .NET as a child and
/// keeps each line of its stdout and stderr in a WAL, shipped to Loki like the SDK ships, while
/// passing the output through unchanged. Exits with the child's exit code.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var run = new RunOptions();
        var sdk = new SdkOptions();
        var command = new Command("run", "Run a command and keep each line of its stdout and stderr in a WAL, shipped to Loki; exits with the command's exit code.");
        run.AddTo(command);
        sdk.AddTo(command);
        command.SetAction((result, _) => RunAsync(result, run, sdk, context));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, RunOptions run, SdkOptions sdk, CliContext context)
    {
        var commandLine = result.GetValue(run.Command) ?? [];
        if (commandLine.Length == 0 || string.IsNullOrWhiteSpace(commandLine[0]))
        {
            throw new UsageException("logpersist run needs a command after --.");
        }

        var fromCommandLine = new RunSettings(
            LineControls.Parse(result.GetValue(run.Samples) ?? [], result.GetValue(run.Drops) ?? [], result.GetValue(run.Redactions) ?? [], result.GetValue(run.LevelPattern)),
            result.GetValue(run.Files) ?? []);
        var configPath = result.GetValue(run.Config);
        var settings = configPath is null ? fromCommandLine : RunConfig.Load(configPath, fromCommandLine);
        var files = settings.Files.ToArray();
        if (files.Length > 0 && !OperatingSystem.IsLinux())
        {
            throw new UsageException("logpersist run: --files needs Linux (files are known by device and inode).");
        }

        if (files.Any(string.IsNullOrWhiteSpace))
        {
            throw new UsageException("logpersist run: --files needs a pattern.");
        }

        var rules = (result.GetValue(run.Components) ?? []).Select(ComponentRule.Parse).ToList();
        if (rules.Count > 0 && files.Length == 0)
        {
            throw new UsageException("logpersist run: --component names the component of followed files; it needs --files.");
        }

        // Made before the pipeline, so that the WAL forgets no shipped entry before the positions are read and saved.
        var positions = files.Length > 0 ? new FilePositions(context.Error) : null;
        var live = new LiveOptions(warnings =>
        {
            var fromFlags = run.ToOptions(result, sdk, context, commandLine[0], warnings);
            if (positions is not null)
            {
                // The component of each followed file's lines is a stream label: a few streams per pod, never one per file.
                if (!fromFlags.LabelProperties.Contains(LineRecorder.ComponentProperty))
                {
                    fromFlags.LabelProperties.Add(LineRecorder.ComponentProperty);
                }

                fromFlags.BeforeForgettingShipped = positions.BeforeForgettingShipped;
            }

            return fromFlags;
        });
        // The file's logPersist object over the command line's options: a file can set the WAL's Directory too.
        var options = live.Start(settings.LogPersist, configPath, context.Error);

        LogPipeline pipeline;
        try
        {
            pipeline = LogPipeline.Open(options);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        catch (WalLockedException e)
        {
            throw new UsageException($"logpersist run: {e.Message} Give this run another --instance or --directory.");
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException($"logpersist run: {e.Message}");
        }

        live.Attach(pipeline);
        ChildOutcome outcome;
        FileFollower? follower = null;
        LineFilter? filter = null;
        FilterSummary? summary = null;
        RunConfig? config = null;
        try
        {
            if (configPath is not null || !settings.Controls.IsEmpty)
            {
                filter = new LineFilter(settings.Controls, pipeline.Directory);
                summary = new FilterSummary(pipeline, filter);
            }

            if (positions is not null)
            {
                // Started before the child, so that its first files are read from their first line.
                follower = new FileFollower(pipeline, files, RunOptions.PieceBytes(options.MaxLineBytes), context.Error, positions, new FileLineRules(rules, context.Error)) { Filter = filter };
                follower.Start();
            }

            if (configPath is not null)
            {
                config = new RunConfig(configPath, fromCommandLine, settings, filter!, context.Error) { Follower = follower, Options = live };
                config.Start(context.Time);
            }

            var runner = new ChildRunner(pipeline, RunOptions.PieceBytes(options.MaxLineBytes), context.Error) { Filter = filter };
            outcome = await runner.RunAsync(
                commandLine[0],
                commandLine[1..],
                Passthrough.For(context.Out, standardError: false),
                Passthrough.For(context.Error, standardError: true),
                () => ChildSignals.Number(CliContext.LastSignal),
                context.Cancellation).ConfigureAwait(false);
        }
        finally
        {
            config?.Dispose();
            if (follower is not null)
            {
                // The child is gone: one last pass records what its files hold, unfinished lines included.
                await follower.DisposeAsync().ConfigureAwait(false);
            }

            if (summary is not null)
            {
                // What was left out since the last summary, so the end of a run is accounted for too.
                await summary.DisposeAsync().ConfigureAwait(false);
            }

            filter?.Dispose();

            if (!await pipeline.StopAsync(options.FlushTimeout).ConfigureAwait(false))
            {
                await context.Error.WriteLineAsync($"logpersist run: Loki did not acknowledge every line within {options.FlushTimeout.TotalSeconds:0.###} s; the rest stays in '{pipeline.Directory}' and is shipped by the next run on it.").ConfigureAwait(false);
            }
        }

        if (outcome.LinesDropped > 0)
        {
            await context.Error.WriteLineAsync($"logpersist run: the WAL refused {outcome.LinesDropped} lines (disk cap); they are counted and marked in the stream.").ConfigureAwait(false);
        }

        await context.Error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return outcome.ExitCode;
    }
}
