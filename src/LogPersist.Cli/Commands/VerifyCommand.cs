using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LogPersist.Cli.Reading;
using LogPersist.Wal;
using Spectre.Console;

namespace LogPersist.Cli.Commands;

/// <summary>
/// <c>logpersist verify DIR [--json]</c>: checks the framing and checksum of every record in every
/// segment, shipped or not, and every segment header. Exit 1 when anything is damaged, 0 when clean.
/// An unfinished append at the end of a live writer's newest segment is reported as in progress, not damage.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CliContext context)
    {
        var directory = new Argument<string>("directory") { Description = "The WAL directory to check." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of tables." };
        var command = new Command("verify", "Check every record's checksum and framing and every segment header; exit 1 if anything is damaged. Reads only.");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction((result, cancellation) =>
        {
            var wal = WalDirectory.Open(context.FileSystem, result.GetValue(directory)!);
            var scan = WalScan.Run(wal, cancellation);
            if (result.GetValue(json))
            {
                CliOutput.WriteJson(context.Out, w => WriteJson(w, scan));
            }
            else
            {
                Render(context.Console, scan);
            }

            return Task.FromResult(scan.Clean ? ExitCodes.Ok : ExitCodes.Problems);
        });
        return command;
    }

    private static void Render(IAnsiConsole console, WalScan scan)
    {
        var records = scan.Segments.Sum(s => s.Inspection.DataRecords + s.Inspection.GapRecords);
        if (scan.HeaderProblems.Any())
        {
            foreach (var segment in scan.HeaderProblems)
            {
                console.WriteLine($"segment {segment.Inspection.Sequence}: {(segment.Inspection.Unreadable is null ? "header " : "")}{Describe(segment.Inspection.Header)}{(segment.Inspection.Unreadable is { } reason ? ": " + reason : "")}");
            }
        }

        var damage = scan.Damage.ToList();
        if (damage.Count > 0)
        {
            var table = CliOutput.NewTable("Segment", "Offset", "Length", "Kind", "Records lost (est.)");
            foreach (var item in damage)
            {
                table.Row(
                    item.Range.Segment.ToString(CultureInfo.InvariantCulture),
                    item.Range.Offset.ToString(CultureInfo.InvariantCulture),
                    item.Range.Length.ToString(CultureInfo.InvariantCulture),
                    CliOutput.Kind(item),
                    CliOutput.Records(item.RecordsEstimate));
            }

            console.Write(table);
        }

        foreach (var segment in scan.InProgress)
        {
            console.WriteLine($"segment {segment.Inspection.Sequence}: append in progress from offset {segment.Inspection.InProgressFrom} (held by a live writer; not damage)");
        }

        if (scan.UndecodableRecords > 0)
        {
            console.WriteLine($"{CliOutput.Count(scan.UndecodableRecords)} records have a valid checksum but hold no entry this version can read; the shipper skips malformed ones with a marker and stops before any of a later format.");
        }

        var checkedWhat = $"{scan.Segments.Count} segments, {CliOutput.Count(records)} valid records";
        console.WriteLine(scan.Clean
            ? $"OK: {checkedWhat}, no damage."
            : $"DAMAGED: {damage.Count} ranges ({CliOutput.Bytes(damage.Sum(d => d.Range.Length))}, about {CliOutput.Count(damage.Sum(d => d.RecordsEstimate ?? 0))} records{(damage.Any(d => d.RecordsEstimate is null) ? " plus what stood past a cut" : "")}) and {scan.HeaderProblems.Count()} bad segment headers in {checkedWhat}.");
    }

    private static string Describe(SegmentHeaderState state) => state switch
    {
        SegmentHeaderState.WrongSequence => "names another sequence than its file name",
        SegmentHeaderState.Invalid => "is damaged (magic, version or checksum); its records are checked on their own",
        SegmentHeaderState.Unreadable => "could not be read, so it was not checked (this is not damage)",
        SegmentHeaderState.NewerVersion => $"is of a later format than this version reads ({SegmentHeader.CurrentVersion}), so its records were not checked; shipping stops before it and keeps it",
        SegmentHeaderState.NotAFile => "is not a regular file (a link, FIFO, device or directory under a segment's name); it was not opened",
        _ => "missing: the file is too short to be a segment",
    };

    private static void WriteJson(Utf8JsonWriter json, WalScan scan)
    {
        json.WriteStartObject();
        json.WriteString("directory", scan.Wal.Path);
        json.WriteBoolean("clean", scan.Clean);
        CliOutput.WriteHolder(json, scan.Wal.Holder);
        json.WriteNumber("segmentsChecked", scan.Segments.Count);
        json.WriteNumber("recordsValid", scan.Segments.Sum(s => s.Inspection.DataRecords + s.Inspection.GapRecords));
        json.WriteNumber("undecodableRecords", scan.UndecodableRecords);
        json.WriteStartArray("damage");
        foreach (var damage in scan.Damage)
        {
            WriteDamage(json, damage);
        }

        json.WriteEndArray();
        json.WriteStartArray("headerProblems");
        foreach (var segment in scan.HeaderProblems)
        {
            json.WriteStartObject();
            json.WriteNumber("segment", segment.Inspection.Sequence);
            json.WriteString("problem", CliOutput.Header(segment.Inspection.Header));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("inProgress");
        foreach (var segment in scan.InProgress)
        {
            json.WriteStartObject();
            json.WriteNumber("segment", segment.Inspection.Sequence);
            json.WriteNumber("offset", segment.Inspection.InProgressFrom!.Value);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("vanishedSegments");
        foreach (var sequence in scan.Vanished)
        {
            json.WriteNumberValue(sequence);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One damaged range as <c>inspect</c> and <c>verify</c> print it in JSON.</summary>
    public static void WriteDamage(Utf8JsonWriter json, InspectedDamage damage)
    {
        json.WriteStartObject();
        json.WriteNumber("segment", damage.Range.Segment);
        json.WriteNumber("offset", damage.Range.Offset);
        json.WriteNumber("length", damage.Range.Length);
        json.WriteString("kind", CliOutput.Kind(damage));
        json.WriteNumber("recordsEstimate", damage.RecordsEstimate);
        json.WriteEndObject();
    }
}
