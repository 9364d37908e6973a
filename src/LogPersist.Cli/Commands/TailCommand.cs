using System.CommandLine;
using LogPersist.Cli.Reading;
using LogPersist.Wal;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist tail DIR [-n N] [-f] [--level L] [--grep TEXT] [--format json|logfmt|text]</c>:
/// the last entries of a WAL as the lines the shipper sends (gap records as its marker lines), each
/// led by its timestamp; with <c>-f</c> it keeps printing new ones until stopped. Reads only.
/// </summary>
internal static class TailCommand
{
    /// <summary>How often <c>-f</c> looks for new records.</summary>
    private static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(200);

    public static Command Create(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory to read." };
        var lines = new Option<int>("--lines", "-n") { Description = "How many of the last entries to print (default 10).", DefaultValueFactory = _ => 10 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing entries as they are written, until Ctrl+C." };
        var level = new Option<string?>("--level") { Description = "Only entries at this level or above: trace, debug, info, warn, error, critical." };
        var grep = new Option<string?>("--grep") { Description = "Only lines containing this text (case-sensitive)." };
        var format = new Option<string?>("--format") { Description = "Line format: json, logfmt or text. Default: the format the WAL's stream.json names, else json." };
        format.AcceptOnlyFromAmong("json", "logfmt", "text");
        var command = new Command("tail", "Print the last entries of a WAL as the lines the shipper sends; -f keeps following. Reads only.");
        command.Arguments.Add(directory);
        command.Options.Add(lines);
        command.Options.Add(follow);
        command.Options.Add(level);
        command.Options.Add(grep);
        command.Options.Add(format);
        command.SetAction(async (result, cancellation) =>
        {
            var count = result.GetValue(lines);
            if (count < 0)
            {
                throw new UsageException($"--lines must be 0 or more, not {count}.");
            }

            var filter = new LineFilter(result.GetValue(level) is { } name ? LineFilter.ParseLevel(name) : EntryLevel.Trace, result.GetValue(grep));
            var wal = WalDirectory.Open(context.FileSystem, result.GetValue(directory)!);
            var lineFormat = result.GetValue(format) is { } chosen
                ? LineFilter.ParseFormat(chosen)
                : wal.LoadStream(out _, out _).LineFormat;
            using var entries = new EntryLines(lineFormat);
            var resume = PrintLast(context, wal, entries, filter, count);
            if (result.GetValue(follow))
            {
                await FollowAsync(context, wal, entries, filter, resume, cancellation).ConfigureAwait(false);
            }

            if (entries.Undecodable > 0)
            {
                await context.Error.WriteLineAsync($"tail: {entries.Undecodable} records held no readable entry and were left out.").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Prints the last <paramref name="count"/> matching entries, reading segments from the newest back
    /// only as far as needed; returns where following should resume.
    /// </summary>
    private static WalPosition PrintLast(CliContext context, WalDirectory wal, EntryLines entries, LineFilter filter, int count)
    {
        var newestFirst = new List<List<string>>();
        var wanted = count;
        WalPosition? resume = null;
        for (var i = wal.Segments.Count - 1; i >= 0 && (wanted > 0 || resume is null); i--)
        {
            var sequence = wal.Segments[i];
            var kept = new Queue<string>();
            var limit = wanted;
            var inspection = SegmentInspector.Inspect(wal.Path, sequence, wal.IsLive(sequence), visitor: (kind, _, payload, strings) =>
            {
                if (limit > 0 && entries.TryFormat(kind, payload, strings, out var line) && filter.Matches(line))
                {
                    if (kept.Count == limit)
                    {
                        kept.Dequeue();
                    }

                    kept.Enqueue(line.Text);
                }
            });
            if (inspection.Vanished)
            {
                continue;
            }

            foreach (var damage in inspection.Damage)
            {
                context.Error.WriteLine($"tail: skipped {CliOutput.Kind(damage)} range in segment {damage.Range.Segment} at offset {damage.Range.Offset} ({damage.Range.Length} bytes); 'logpersist verify' reports it.");
            }

            resume ??= new WalPosition(sequence, inspection.StoppedAt);
            newestFirst.Add([.. kept]);
            wanted -= kept.Count;
        }

        for (var i = newestFirst.Count - 1; i >= 0; i--)
        {
            foreach (var text in newestFirst[i])
            {
                context.Out.WriteLine(text);
            }
        }

        context.Out.Flush();
        return resume ?? WalPosition.Start;
    }

    private static async Task FollowAsync(CliContext context, WalDirectory wal, EntryLines entries, LineFilter filter, WalPosition resume, CancellationToken cancellation)
    {
        using var reader = new WalReader(context.FileSystem, wal.Path, resume, wal.LiveFrom, onDamage: damage =>
            context.Error.WriteLine($"tail: skipped {(damage.Kind == DamageKind.Torn ? "torn" : "corrupt")} range in segment {damage.Segment} at offset {damage.Offset} ({damage.Length} bytes)."));
        while (!cancellation.IsCancellationRequested)
        {
            var printed = false;
            while (reader.TryRead(out var record))
            {
                if (entries.TryFormat(record.Kind, record.Payload.Span, record.Strings, out var line) && filter.Matches(line))
                {
                    await context.Out.WriteLineAsync(line.Text).ConfigureAwait(false);
                    printed = true;
                }
            }

            if (printed)
            {
                await context.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }

            try
            {
                await Task.Delay(FollowInterval, cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
