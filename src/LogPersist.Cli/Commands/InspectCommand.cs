using System.CommandLine;
using System.Text.Json;
using LogPersist.Cli.Reading;
using LogPersist.Wal;
using Spectre.Console;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist inspect DIR [--json]</c>: what a WAL directory holds, what is still to ship, who
/// holds it and what damage a read found. Reads only; exit 0 whatever it finds (verify judges damage).
/// </summary>
internal static class InspectCommand
{
    public static Command Create(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory (one instance's, e.g. /var/lib/logpersist/default/my-service/my-pod-0)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of tables." };
        var command = new Command("inspect", "Show a WAL directory's segments, checkpoint, unshipped backlog, ship lag, holder, drops and damage. Reads only.");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction((result, cancellation) =>
        {
            var wal = WalDirectory.Open(context.FileSystem, result.GetValue(directory)!);
            var scan = WalScan.Run(wal, cancellation);
            var stream = wal.LoadStream(out var streamFromFile, out var streamError);
            var now = context.Time.GetUtcNow();
            TimeSpan? lag = scan.OldestUnshippedNs is { } oldest
                ? TimeSpan.FromTicks(Math.Max(0, (now.ToUnixTimeMilliseconds() * 1_000_000 - oldest) / 100))
                : null;
            var view = new InspectView(wal, scan, stream, streamFromFile, streamError, lag);
            if (result.GetValue(json))
            {
                CliOutput.WriteJson(context.Out, view.WriteJson);
            }
            else
            {
                view.Render(context.Console);
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private sealed record InspectView(WalDirectory Wal, WalScan Scan, Shipping.StreamDescription Stream, bool StreamFromFile, string? StreamError, TimeSpan? Lag)
    {
        private string SegmentState(SegmentSummary segment)
        {
            var sequence = segment.Inspection.Sequence;
            var state = sequence < Wal.Checkpoint.Segment ? "shipped"
                : sequence == Wal.Checkpoint.Segment && Wal.Checkpoint.Offset > SegmentScanner.FirstRecordOffset ? "partly shipped"
                : "unshipped";
            if (segment.Live)
            {
                state += ", live";
            }

            return state;
        }

        private string[] FormatVersions => Scan.Segments
            .Select(s => s.Inspection.FormatVersion)
            .Where(v => v is not null)
            .Distinct()
            .Select(v => v!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();

        public void Render(IAnsiConsole console)
        {
            var summary = CliOutput.NewTable("", "");
            summary.HideHeaders();
            summary.Row("Directory", Wal.Path);
            summary.Row("Format version", FormatVersions.Length == 0 ? "-" : string.Join(", ", FormatVersions) + $" (this tool reads {SegmentHeader.CurrentVersion})");
            summary.Row("Holder", CliOutput.DescribeHolder(Wal.Holder));
            summary.Row("Owner record", CliOutput.DescribeRecord(Wal.Holder.Record));
            summary.Row("Checkpoint", Wal.CheckpointState switch
            {
                CheckpointState.Valid => $"segment {Wal.Checkpoint.Segment}, offset {Wal.Checkpoint.Offset}",
                CheckpointState.Missing => "none (nothing acknowledged yet)",
                _ => "invalid (a writer starts over from the oldest segment)",
            });
            summary.Row("Segments", $"{Scan.Segments.Count} ({CliOutput.Bytes(Scan.Segments.Sum(s => s.Inspection.FileBytes))}), {CliOutput.Count(Scan.Records)} records");
            summary.Row("Unshipped", $"{CliOutput.Count(Scan.UnshippedEntries)} entries, {CliOutput.Bytes(Scan.UnshippedBytes)}");
            summary.Row("Ship lag", Lag is { } lag ? CliOutput.Duration(lag) + " (oldest unshipped entry " + EntryLines.Timestamp(Scan.OldestUnshippedNs!.Value) + ")" : "none");
            summary.Row("Stream labels", Stream.Labels.Text + (StreamFromFile ? "" : StreamError is null ? " (no stream.json: implied by the path)" : $" (implied by the path: {StreamError})"));
            summary.Row("Line format", Stream.LineFormat.ToString().ToLowerInvariant() + (Stream.LevelLabel ? ", level label" : "") + (Stream.LabelProperties.Count > 0 ? ", label properties " + string.Join(", ", Stream.LabelProperties) : ""));
            summary.Row("Drops", Scan.GapRecords == 0
                ? "none recorded"
                : string.Join("; ", Scan.Drops.Select(d => $"{d.Key.TagValue()}: {CliOutput.Count(d.Value.Entries)} entries in {d.Value.Markers} gap records")));
            summary.Row("Marker entries", CliOutput.Count(Scan.MarkerEntries));
            summary.Row("Damage", Scan.Clean
                ? "none found"
                : $"{Scan.Damage.Count()} ranges ({CliOutput.Bytes(Scan.Damage.Sum(d => d.Range.Length))}), {Scan.HeaderProblems.Count()} bad segment headers; run 'logpersist verify' for details");
            if (Scan.UndecodableRecords > 0)
            {
                summary.Row("Undecodable", $"{CliOutput.Count(Scan.UndecodableRecords)} records with a valid checksum hold no readable entry");
            }

            console.Write(summary);

            var segments = CliOutput.NewTable("Seq", "Size", "Records", "Gaps", "Oldest (UTC)", "Newest (UTC)", "Ver", "State");
            foreach (var segment in Scan.Segments)
            {
                var inspection = segment.Inspection;
                var state = SegmentState(segment);
                if (inspection.Header != SegmentHeaderState.Valid)
                {
                    state += ", header " + CliOutput.Header(inspection.Header);
                }

                if (inspection.Damage.Count > 0)
                {
                    state += $", {inspection.Damage.Count} damaged";
                }

                if (inspection.InProgressFrom is not null)
                {
                    state += ", append in progress";
                }

                segments.Row(
                    inspection.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    CliOutput.Bytes(inspection.FileBytes),
                    CliOutput.Count(inspection.DataRecords),
                    CliOutput.Count(inspection.GapRecords),
                    segment.FirstTimestampNs is { } first ? ShortTime(first) : "-",
                    segment.LastTimestampNs is { } last ? ShortTime(last) : "-",
                    inspection.FormatVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?",
                    state);
            }

            console.Write(segments);
            if (Scan.Vanished.Count > 0)
            {
                console.WriteLine($"Shipped and deleted while this ran: segment {string.Join(", ", Scan.Vanished)}.");
            }
        }

        /// <summary>UTC month, day and time to the second, short enough for a table column (the summary shows full timestamps).</summary>
        private static string ShortTime(long unixNs) => EntryLines.Timestamp(unixNs)[5..19].Replace('T', ' ');

        public void WriteJson(Utf8JsonWriter json)
        {
            json.WriteStartObject();
            json.WriteString("directory", Wal.Path);
            json.WriteNumber("supportedFormatVersion", SegmentHeader.CurrentVersion);
            json.WriteStartArray("formatVersions");
            foreach (var version in FormatVersions)
            {
                json.WriteNumberValue(int.Parse(version, System.Globalization.CultureInfo.InvariantCulture));
            }

            json.WriteEndArray();
            CliOutput.WriteHolder(json, Wal.Holder);

            json.WriteStartObject("checkpoint");
            json.WriteString("state", Wal.CheckpointState.ToString().ToLowerInvariant());
            json.WriteNumber("segment", Wal.Checkpoint.Segment);
            json.WriteNumber("offset", Wal.Checkpoint.Offset);
            json.WriteEndObject();

            json.WriteStartArray("segments");
            foreach (var segment in Scan.Segments)
            {
                var inspection = segment.Inspection;
                json.WriteStartObject();
                json.WriteNumber("sequence", inspection.Sequence);
                json.WriteNumber("fileBytes", inspection.FileBytes);
                json.WriteNumber("records", inspection.DataRecords);
                json.WriteNumber("recordBytes", inspection.DataBytes);
                json.WriteNumber("gapRecords", inspection.GapRecords);
                json.WriteTimestamp("firstTimestamp", segment.FirstTimestampNs);
                json.WriteTimestamp("lastTimestamp", segment.LastTimestampNs);
                json.WriteNumber("formatVersion", inspection.FormatVersion);
                json.WriteString("header", CliOutput.Header(inspection.Header));
                json.WriteString("state", SegmentState(segment).Split(',')[0].Replace("partly shipped", "partlyShipped", StringComparison.Ordinal));
                json.WriteBoolean("live", segment.Live);
                json.WriteNumber("damagedRanges", inspection.Damage.Count);
                json.WriteNumber("inProgressFrom", inspection.InProgressFrom);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("vanishedSegments");
            foreach (var sequence in Scan.Vanished)
            {
                json.WriteNumberValue(sequence);
            }

            json.WriteEndArray();

            json.WriteNumber("records", Scan.Records);
            json.WriteStartObject("unshipped");
            json.WriteNumber("entries", Scan.UnshippedEntries);
            json.WriteNumber("bytes", Scan.UnshippedBytes);
            json.WriteTimestamp("oldestTimestamp", Scan.OldestUnshippedNs);
            json.WriteEndObject();
            if (Lag is { } lag)
            {
                json.WriteNumber("shipLagSeconds", Math.Round(lag.TotalSeconds, 3));
            }
            else
            {
                json.WriteNull("shipLagSeconds");
            }

            json.WriteStartObject("drops");
            json.WriteNumber("gapRecords", Scan.GapRecords);
            json.WriteNumber("droppedEntries", Scan.Drops.Values.Sum(d => d.Entries));
            json.WriteStartObject("byReason");
            foreach (var (reason, tally) in Scan.Drops)
            {
                json.WriteStartObject(reason.TagValue());
                json.WriteNumber("gapRecords", tally.Markers);
                json.WriteNumber("entries", tally.Entries);
                json.WriteNumber("bytes", tally.Bytes);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteNumber("markerEntries", Scan.MarkerEntries);
            json.WriteEndObject();
            json.WriteNumber("undecodableRecords", Scan.UndecodableRecords);

            json.WriteStartObject("damage");
            json.WriteNumber("ranges", Scan.Damage.Count());
            json.WriteNumber("bytes", Scan.Damage.Sum(d => d.Range.Length));
            json.WriteNumber("badHeaders", Scan.HeaderProblems.Count());
            json.WriteStartArray("list");
            foreach (var damage in Scan.Damage)
            {
                VerifyCommand.WriteDamage(json, damage);
            }

            json.WriteEndArray();
            json.WriteEndObject();

            json.WriteStartObject("stream");
            json.WriteString("source", StreamFromFile ? "stream.json" : "path");
            json.WriteString("error", StreamError);
            json.WriteStartObject("labels");
            foreach (var (name, value) in Stream.Labels.Labels)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteString("lineFormat", Stream.LineFormat.ToString().ToLowerInvariant());
            json.WriteBoolean("levelLabel", Stream.LevelLabel);
            json.WriteStartArray("labelProperties");
            foreach (var property in Stream.LabelProperties)
            {
                json.WriteStringValue(property);
            }

            json.WriteEndArray();
            json.WriteNumber("maxLineBytes", Stream.MaxLineBytes);
            json.WriteEndObject();
            json.WriteEndObject();
        }
    }
}
