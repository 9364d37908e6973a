using System.CommandLine;
using System.Text;
using LogPersist.Cli.Reading;
using LogPersist.Wal;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist export DIR --format jsonl|logfmt|text [--out FILE] [--include-shipped]</c>: writes a
/// WAL's entries as lines for offline analysis (when Loki is out of reach), from the checkpoint or
/// from the oldest record still on disk. Never changes the WAL. The file is owner-only (0600), like
/// the WAL it comes from. Exit 1 when damaged ranges or
/// unreadable records had to be left out, so a script knows the export is incomplete.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory to export." };
        var format = new Option<string>("--format") { Description = "jsonl (one JSON line per entry), logfmt or text.", Required = true };
        format.AcceptOnlyFromAmong("jsonl", "logfmt", "text");
        var output = new Option<FileInfo?>("--out", "-o") { Description = "File to write (replaced if it exists; not inside the WAL directory). Default: standard output." };
        var includeShipped = new Option<bool>("--include-shipped") { Description = "Export everything still on disk, not only the entries after the checkpoint." };
        var command = new Command("export", "Write a WAL's unshipped entries (or all on disk) as jsonl, logfmt or text lines; a summary goes to stderr. Reads only.");
        command.Arguments.Add(directory);
        command.Options.Add(format);
        command.Options.Add(output);
        command.Options.Add(includeShipped);
        command.SetAction(async (result, cancellation) =>
        {
            var wal = WalDirectory.Open(context.FileSystem, result.GetValue(directory)!);
            var lineFormat = LineFilter.ParseFormat(result.GetValue(format)!);
            var file = result.GetValue(output);
            if (file is not null && IsInside(file.FullName, wal.Path))
            {
                throw new UsageException($"--out '{file.FullName}' is inside the WAL directory; export never writes there.");
            }

            var start = result.GetValue(includeShipped) ? WalPosition.Start : wal.Checkpoint;
            TextWriter writer;
            try
            {
                writer = file is null ? context.Out : new StreamWriter(OpenOwnerOnly(file.FullName), new UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--out '{file!.FullName}' cannot be written: {e.Message}");
            }

            long exported = 0, bytes = 0, damagedRanges = 0, damagedBytes = 0;
            var cancelled = false;
            using var entries = new EntryLines(lineFormat);
            try
            {
                using var reader = new WalReader(context.FileSystem, wal.Path, start, wal.LiveFrom, onDamage: damage =>
                {
                    damagedRanges++;
                    damagedBytes += damage.Length;
                });
                while (reader.TryRead(out var record))
                {
                    if (cancellation.IsCancellationRequested)
                    {
                        cancelled = true;
                        break;
                    }

                    if (entries.TryFormat(record.Kind, record.Payload.Span, record.Strings, out var line))
                    {
                        await writer.WriteLineAsync(line.Text).ConfigureAwait(false);
                        exported++;
                        bytes += Encoding.UTF8.GetByteCount(line.Text) + 1;
                    }
                }

                await writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                if (!ReferenceEquals(writer, context.Out))
                {
                    await writer.DisposeAsync().ConfigureAwait(false);
                }
            }

            var from = result.GetValue(includeShipped) ? "everything on disk"
                : wal.CheckpointState == CheckpointState.Valid ? $"the checkpoint ({wal.Checkpoint})"
                : "the oldest segment (no valid checkpoint: nothing acknowledged)";
            await context.Error.WriteLineAsync(
                $"export{(cancelled ? " (stopped before the end)" : "")}: {exported} entries, {CliOutput.Bytes(bytes)} from {from}{(file is null ? "" : " to " + file.FullName)}; "
                + $"{damagedRanges} damaged ranges skipped ({CliOutput.Bytes(damagedBytes)}); {entries.Undecodable} unreadable records left out.").ConfigureAwait(false);
            return cancelled || damagedRanges > 0 || entries.Undecodable > 0 ? ExitCodes.Problems : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Opens (creating or replacing) the export file readable by its owner only, as the WAL it comes
    /// from is: a new file is created 0600, and an existing one is narrowed to 0600 before anything is written.
    /// </summary>
    private static FileStream OpenOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly.FileMode;
        }

        var stream = new FileStream(path, options);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, OwnerOnly.FileMode);
            }

            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static bool IsInside(string path, string directory)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        while (parent is not null)
        {
            if (string.Equals(Path.TrimEndingDirectorySeparator(parent), root, comparison))
            {
                return true;
            }

            parent = Path.GetDirectoryName(parent);
        }

        return false;
    }
}
