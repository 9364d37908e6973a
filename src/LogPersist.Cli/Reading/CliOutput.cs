using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace LogPersist.Cli.Reading;

/// <summary>Shared pieces of the read commands' output: the JSON writer, table rows, sizes and times.</summary>
internal static class CliOutput
{
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        // The document goes to a terminal or a file, never into HTML: keep label values readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes one JSON document, then a newline, to <paramref name="output"/>.</summary>
    public static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            write(json);
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public static void WriteTimestamp(this Utf8JsonWriter json, string name, long? unixNs)
    {
        if (unixNs is { } ns)
        {
            json.WriteString(name, EntryLines.Timestamp(ns));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public static void WriteNumber(this Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>A table row of plain text cells (no markup is interpreted).</summary>
    public static Table Row(this Table table, params string[] cells)
    {
        table.AddRow(cells.Select(c => (IRenderable)new Text(c)));
        return table;
    }

    public static Table NewTable(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }

        return table;
    }

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / 1024.0 / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / 1024.0 / 1024 / 1024).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 60 } => span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
        { TotalMinutes: < 60 } => span.TotalMinutes.ToString("0.0", CultureInfo.InvariantCulture) + " min",
        { TotalHours: < 48 } => span.TotalHours.ToString("0.0", CultureInfo.InvariantCulture) + " h",
        _ => span.TotalDays.ToString("0.0", CultureInfo.InvariantCulture) + " d",
    };

    public static string Kind(InspectedDamage damage) =>
        damage.PastEndOfFile ? "truncated" : damage.Range.Kind == DamageKind.Torn ? "torn" : "corrupt";

    public static string Header(SegmentHeaderState state) => state switch
    {
        SegmentHeaderState.Valid => "ok",
        SegmentHeaderState.WrongSequence => "wrongSequence",
        SegmentHeaderState.Invalid => "invalid",
        SegmentHeaderState.Unreadable => "unreadable",
        SegmentHeaderState.NewerVersion => "newerVersion",
        SegmentHeaderState.NotAFile => "notAFile",
        _ => "tooShort",
    };

    public static string HolderState(HolderState state) => state switch
    {
        Wal.Ownership.HolderState.Live => "live",
        Wal.Ownership.HolderState.Stale => "stale",
        Wal.Ownership.HolderState.Released => "released",
        Wal.Ownership.HolderState.None => "none",
        _ => "unknown",
    };

    public static void WriteHolder(Utf8JsonWriter json, WalHolder holder)
    {
        json.WriteStartObject("holder");
        json.WriteString("state", HolderState(holder.State));
        json.WriteBoolean("live", holder.IsLive);
        json.WriteNumber("processId", holder.ProcessId);
        json.WriteString("host", holder.Host);
        json.WriteString("instance", holder.Instance);
        if (holder.Started is { } started)
        {
            json.WriteString("started", started.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull("started");
        }

        if (holder.Record is { } record)
        {
            json.WriteStartObject("record");
            json.WriteString("state", record.State.ToString().ToLowerInvariant());
            json.WriteString("pod", record.Pod);
            json.WriteString("podUid", record.PodUid);
            json.WriteString("node", record.Node);
            json.WriteString("bootId", record.BootId);
            json.WriteNumber("epoch", record.Epoch);
            json.WriteNumber("heartbeat", record.Heartbeat);
            json.WriteNumber("leaseSeconds", record.Lease.TotalSeconds);
            json.WriteString("leaseExpires", record.LeaseExpires.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("adoptedBy", record.AdoptedBy);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("record");
        }

        json.WriteEndObject();
    }

    /// <summary>The owner record in one line: who, where, which epoch, until when (by the holder's clock).</summary>
    public static string DescribeRecord(OwnerRecord? record)
    {
        if (record is null)
        {
            return "none";
        }

        var pod = record.Pod ?? "?";
        var uid = record.PodUid is null ? "" : $" (uid {record.PodUid})";
        var node = record.Node is null ? "" : $" on node {record.Node}";
        var adopted = record.AdoptedBy is null ? "" : $", adopted by {record.AdoptedBy}";
        return string.Create(CultureInfo.InvariantCulture,
            $"{record.State.ToString().ToLowerInvariant()}: pod {pod}{uid}{node}, epoch {record.Epoch}, heartbeat {record.Heartbeat}, lease {record.Lease.TotalSeconds:0} s to {record.LeaseExpires.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ} by its clock{adopted}");
    }

    public static string DescribeHolder(WalHolder holder)
    {
        var who = holder.ProcessId is null && holder.Host is null && holder.Instance is null
            ? ""
            : $" (pid {holder.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "?"} on {holder.Host ?? "?"}{(holder.Instance is null ? "" : ", " + holder.Instance)})";
        return holder.State switch
        {
            Wal.Ownership.HolderState.Live => "held by a live process" + who,
            Wal.Ownership.HolderState.Stale => "not held; left by a process that ended without closing" + who,
            Wal.Ownership.HolderState.Released => "not held (closed cleanly)",
            Wal.Ownership.HolderState.None => "not held (never opened by a writer)",
            _ => "unknown (wal.lock cannot be opened)" + who,
        };
    }

    public static string Records(long? estimate) => estimate is { } n ? (n == 1 ? "~1" : "~" + Count(n)) : "unknown";
}
