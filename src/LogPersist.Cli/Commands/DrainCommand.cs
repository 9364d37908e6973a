using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Security.Cryptography;
using LogPersist.Adoption;
using LogPersist.Cli.Draining;
using LogPersist.Cli.Reading;
using LogPersist.Loki;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using Spectre.Console;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist drain DIR | --all ROOT</c>: ships what WAL directories hold to Loki and then removes each
/// drained directory; for volumes whose pods are gone.
/// </summary>
internal static class DrainCommand
{
    private static readonly TimeSpan PlainProgressInterval = TimeSpan.FromSeconds(5);

    public static Command Create(CliContext context)
    {
        var directory = new Argument<string?>("directory") { Description = "The WAL directory to drain ({root}/{namespace}/{service}/{instance}).", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<string?>("--all") { Description = "Drain every WAL directory under this root instead; directories held by a live process are skipped.", HelpName = "ROOT" };
        var timeout = new Option<TimeSpan?>("--timeout")
        {
            Description = "Give up after this long (e.g. 90s, 10m, 1h); what was shipped stays shipped. Default: no limit.",
            HelpName = "DURATION",
            CustomParser = result => Durations.Parse(result.Tokens[0].Value, result),
        };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var sdk = new SdkOptions();
        var command = new Command("drain", "Ship every unshipped entry of a WAL directory to Loki, with the labels it was written under, then remove the directory (a directory that also holds files LogPersist did not write keeps them). Safe to interrupt and run again.")
        {
            directory,
            all,
            timeout,
            json,
        };
        sdk.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(context, result, result.GetValue(directory), result.GetValue(all), result.GetValue(timeout), result.GetValue(json), sdk, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, ParseResult result, string? directory, string? root, TimeSpan? timeout, bool json, SdkOptions sdk, CancellationToken cancellationToken)
    {
        if ((directory is null) == (root is null))
        {
            throw new UsageException("drain needs either a WAL directory or --all ROOT (not both).");
        }

        var options = new LogPersistOptions { Directory = Path.GetTempPath(), ServiceName = "drain", Instance = "drain", TimeProvider = context.Time };
        sdk.ApplyLoki(result, options, context.Environment);
        if (string.IsNullOrWhiteSpace(options.LokiUrl))
        {
            throw new UsageException("drain needs a Loki URL: --loki URL or LOKI_URL.");
        }

        // Validated once, with the SDK's own rules and messages, and the certificates loaded once, so
        // a bad file is a usage error before any directory is touched.
        try
        {
            var loki = PipelineSettings.Resolve(options).Shipper!.Loki;
            if (context.HttpHandler is null)
            {
                using var client = new LokiClient(loki);
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new UsageException(e.Message);
        }

        var directories = Targets(context.FileSystem, directory, root, out var unreadable);
        foreach (var (path, error) in unreadable)
        {
            await context.Error.WriteLineAsync($"{path}: cannot be searched for WAL directories: {error}").ConfigureAwait(false);
        }

        if (directories.Count == 0)
        {
            await context.Error.WriteLineAsync($"No WAL directory found under '{Path.GetFullPath(root!)}'.").ConfigureAwait(false);
            return ExitCodes.Problems;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.Cancellation);
        if (timeout is { } limit)
        {
            stop.CancelAfter(limit);
        }

        // A lock that can be taken does not prove its holder dead on a network file system: a record
        // that says live must also stay unchanged for its lease. One look at all of them now, so the
        // wait is one lease at most in all.
        var watch = RecordWatch.Start(context.FileSystem, directories, context.Time);
        if (watch.Watched > 0)
        {
            await context.Error.WriteLineAsync($"{watch.Watched} of {directories.Count} directories have an owner record that says live; waiting out its lease (30 s by default) before taking them.").ConfigureAwait(false);
        }

        var results = new List<DrainResult>();
        foreach (var target in directories)
        {
            if (stop.IsCancellationRequested)
            {
                results.Add(new DrainResult(target, DrainStatus.Interrupted, 0, 0, 0, TimeSpan.Zero, "", "not started"));
                continue;
            }

            string? live;
            try
            {
                live = await watch.WaitAsync(target, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                results.Add(new DrainResult(target, DrainStatus.Interrupted, 0, 0, 0, TimeSpan.Zero, "", "stopped while waiting out its owner record's lease"));
                continue;
            }

            if (live is not null)
            {
                results.Add(new DrainResult(target, DrainStatus.Held, 0, 0, 0, TimeSpan.Zero, "", live));
                continue;
            }

            var shipping = PipelineSettings.Resolve(options).Shipper!;
            if (!StreamDescription.TryLoad(context.FileSystem, target, out var stream, out var error))
            {
                stream = StreamDescription.FromPath(target);
                await context.Error.WriteLineAsync($"{target}: {error ?? "no " + StreamDescription.FileName} — shipping under the labels its path implies: {stream.Labels.Text}").ConfigureAwait(false);
            }

            stream.ApplyTo(shipping);
            try
            {
                results.Add(await DrainOneAsync(context, target, shipping, json, stop.Token).ConfigureAwait(false));
            }
#pragma warning disable CA1031 // One directory's failure is reported in its row; it must not stop the others.
            catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
#pragma warning restore CA1031
            {
                // Whatever one directory holds, it fails alone: the others are drained and the summary is printed.
                results.Add(new DrainResult(target, DrainStatus.Failed, 0, 0, 0, TimeSpan.Zero, stream.Labels.Text, e.GetType().Name + ": " + e.Message));
            }
        }

        if (json)
        {
            await WriteJsonAsync(context.Out, results).ConfigureAwait(false);
        }
        else
        {
            WriteTable(context.Console, results);
        }

        var single = root is null;
        var failed = unreadable.Count > 0 || results.Any(r => r.Status is DrainStatus.Interrupted or DrainStatus.Failed || r.Refused > 0 || (single && r.Status == DrainStatus.Held));
        return failed ? ExitCodes.Problems : ExitCodes.Ok;
    }

    private static IReadOnlyList<string> Targets(System.IO.Abstractions.IFileSystem fileSystem, string? directory, string? root, out IReadOnlyList<(string Directory, string Error)> unreadable)
    {
        unreadable = [];
        if (root is not null)
        {
            if (!fileSystem.Directory.Exists(root))
            {
                throw new UsageException($"'{root}' does not exist.");
            }

            return WalDirectories.Under(fileSystem, root, out unreadable);
        }

        // The same recognition, and the same messages, as the read commands; a link is never followed
        // to a directory whose files drain would delete.
        if (Wal.WalFiles.IsLink(fileSystem, fileSystem.Path.GetFullPath(directory!)))
        {
            throw new UsageException($"'{directory}' is a symbolic link; drain never follows links to the directories it deletes. Give the directory itself.");
        }

        return [WalDirectory.Open(fileSystem, directory!).Path];
    }

    private static async Task<DrainResult> DrainOneAsync(CliContext context, string directory, ShipperOptions shipping, bool json, CancellationToken cancellationToken)
    {
        if (!json && context.Console.Profile.Capabilities.Interactive)
        {
            DrainResult? result = null;
            await context.Console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape(Path.GetFileName(directory)), maxValue: 1);
                    var reporter = new LiveProgress(task, directory, context.Time);
                    result = await WalDrain.RunAsync(context.FileSystem, directory, shipping, context.HttpHandler, context.Time, reporter, TimeSpan.FromMilliseconds(250), cancellationToken, removeDirectory: true).ConfigureAwait(false);
                    task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(directory)}: {result.Status.ToString().ToLowerInvariant()}, {result.Entries:N0} entries, {result.Bytes / 1048576.0:0.0} MiB, {result.EntriesPerSecond:N0}/s"));
                    task.Value = task.MaxValue;
                    task.StopTask();
                }).ConfigureAwait(false);
            return result!;
        }

        var plain = new PlainProgress(context.Error, directory, context.Time);
        return await WalDrain.RunAsync(context.FileSystem, directory, shipping, context.HttpHandler, context.Time, plain, PlainProgressInterval, cancellationToken, removeDirectory: true).ConfigureAwait(false);
    }

    private static void WriteTable(IAnsiConsole console, IReadOnlyList<DrainResult> results)
    {
        var table = new Table().AddColumns("instance", "status", "entries", "bytes", "refused", "seconds", "entries/s");
        foreach (var r in results)
        {
            table.AddRow(
                Markup.Escape(Path.GetFileName(r.Directory)),
                r.Status.ToString().ToLowerInvariant(),
                r.Entries.ToString("N0", CultureInfo.InvariantCulture),
                r.Bytes.ToString("N0", CultureInfo.InvariantCulture),
                r.Refused.ToString("N0", CultureInfo.InvariantCulture),
                r.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                r.EntriesPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        }

        console.Write(table);
        foreach (var r in results)
        {
            console.WriteLine($"{r.Directory}: {r.Labels}{(r.Message is { } message ? " — " + message : "")}");
        }
    }

    private static async Task WriteJsonAsync(TextWriter output, IReadOnlyList<DrainResult> results)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("directories");
            foreach (var r in results)
            {
                writer.WriteStartObject();
                writer.WriteString("directory", r.Directory);
                writer.WriteString("status", r.Status.ToString().ToLowerInvariant());
                writer.WriteNumber("entries", r.Entries);
                writer.WriteNumber("bytes", r.Bytes);
                writer.WriteNumber("refused", r.Refused);
                writer.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 3));
                writer.WriteNumber("entriesPerSecond", Math.Round(r.EntriesPerSecond, 1));
                writer.WriteString("labels", r.Labels);
                if (r.Message is { } message)
                {
                    writer.WriteString("message", message);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }

    /// <summary>A live progress bar: entries, bytes, rate and time left.</summary>
    private sealed class LiveProgress(ProgressTask task, string directory, TimeProvider time) : IProgress<DrainProgress>
    {
        private readonly long _started = time.GetTimestamp();

        public void Report(DrainProgress value)
        {
            var rate = value.Done / Math.Max(time.GetElapsedTime(_started).TotalSeconds, 0.001);
            task.MaxValue = Math.Max(value.Total, Math.Max(value.Done, 1));
            task.Value = value.Done;
            var text = $"{Path.GetFileName(directory)}: {value.Done:N0}/{(value.Total > 0 ? value.Total.ToString("N0", CultureInfo.InvariantCulture) : "?")} entries, {value.Bytes / 1048576.0:0.0} MiB, {rate:N0}/s";
            if (value.LastError is { } error && (value.Total == 0 || value.Done < value.Total))
            {
                text += $" — {error}";
            }

            task.Description = Markup.Escape(text);
        }
    }

    /// <summary>Progress as a line every few seconds, for logs of Jobs and redirected output.</summary>
    private sealed class PlainProgress(TextWriter error, string directory, TimeProvider time) : IProgress<DrainProgress>
    {
        private readonly long _started = time.GetTimestamp();

        public void Report(DrainProgress value)
        {
            var elapsed = time.GetElapsedTime(_started).TotalSeconds;
            if (elapsed < 1)
            {
                return;
            }

            var rate = value.Done / elapsed;
            var left = value.Total - value.Done;
            var eta = rate > 0 && left > 0 ? $", about {TimeSpan.FromSeconds(Math.Ceiling(left / rate)):g} left" : "";
            var line = string.Create(CultureInfo.InvariantCulture, $"{directory}: {value.Done:N0}/{(value.Total > 0 ? value.Total.ToString("N0", CultureInfo.InvariantCulture) : "?")} entries, {value.Bytes / 1048576.0:0.0} MiB, {rate:N0} entries/s{eta}");
            if (value.LastError is { } last && (value.Total == 0 || left > 0))
            {
                line += " — " + last;
            }

            error.WriteLine(line);
        }
    }
}
