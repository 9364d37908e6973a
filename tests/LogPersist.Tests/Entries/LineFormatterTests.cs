using System.Text;
using System.Text.Json;
using LogPersist.Entries;

namespace LogPersist.Tests.Entries;

public class LineFormatterTests
{
    private static string Format(LogEntry entry, LineFormat format, bool includeTrace = true)
    {
        using var formatter = new LineFormatter(format);
        Assert.True(EntryView.TryDecode(new EntryEncoder().Encode(entry), out var view));
        return Encoding.UTF8.GetString(formatter.Format(view, includeTrace));
    }

    private static LogEntry Entry()
    {
        var entry = new LogEntry
        {
            Level = EntryLevel.Error,
            Category = "Jobs",
            Template = "Job {JobId} failed after {Attempts} attempts",
            EventId = 7,
            Exception = "System.Exception: boom",
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = "b7ad6b7169203331",
        };
        entry.Properties.Add(new("JobId", "j-1"));
        entry.Properties.Add(new("Attempts", 3));
        entry.Properties.Add(new("level", "shadowed"));
        entry.Properties.Add(new("Detail", new LogStructure(null, [new("Code", 5), new("Codes", new[] { 1, 2 })])));
        entry.Scopes.Add("outer");
        return entry;
    }

    [Fact]
    public void Json_line_holds_level_category_rendered_message_template_properties_scopes_exception_and_trace()
    {
        using var json = JsonDocument.Parse(Format(Entry(), LineFormat.Json));
        var root = json.RootElement;

        Assert.Equal("error", root.GetProperty("level").GetString());
        Assert.Equal("Jobs", root.GetProperty("category").GetString());
        Assert.Equal("Job j-1 failed after 3 attempts", root.GetProperty("msg").GetString());
        Assert.Equal("Job {JobId} failed after {Attempts} attempts", root.GetProperty("template").GetString());
        Assert.Equal(7, root.GetProperty("event_id").GetInt32());
        Assert.Equal("j-1", root.GetProperty("JobId").GetString());
        Assert.Equal(3, root.GetProperty("Attempts").GetInt32());
        Assert.Equal("shadowed", root.GetProperty("_level").GetString());
        Assert.Equal(2, root.GetProperty("Detail").GetProperty("Codes")[1].GetInt32());
        Assert.Equal("outer", root.GetProperty("scopes")[0].GetString());
        Assert.Equal("System.Exception: boom", root.GetProperty("exception").GetString());
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", root.GetProperty("trace_id").GetString());
        Assert.Equal("b7ad6b7169203331", root.GetProperty("span_id").GetString());
    }

    [Fact]
    public void Trace_ids_are_left_out_of_the_line_when_sent_as_metadata()
    {
        var line = Format(Entry(), LineFormat.Json, includeTrace: false);
        Assert.DoesNotContain("trace_id", line, StringComparison.Ordinal);
        Assert.DoesNotContain("0af7651916cd43dd8448eb211c80319c", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Logfmt_line_quotes_values_with_spaces_and_escapes_quotes_and_newlines()
    {
        var entry = new LogEntry { Level = EntryLevel.Information, Category = "c", Message = "say \"hi\"\nbye" };
        entry.Properties.Add(new("n", 5));
        entry.Properties.Add(new("empty", ""));

        Assert.Equal("level=info category=c msg=\"say \\\"hi\\\"\\nbye\" n=5 empty=\"\"", Format(entry, LineFormat.Logfmt));
    }

    [Fact]
    public void Text_line_is_level_category_message_then_the_exception()
    {
        Assert.Equal(
            "error Jobs: Job j-1 failed after 3 attempts trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331\nSystem.Exception: boom",
            Format(Entry(), LineFormat.Text));
    }

    [Fact]
    public void Template_holes_without_a_property_and_escaped_braces_render_as_written()
    {
        var entry = new LogEntry { Category = "c", Template = "{{literal}} {Missing} {Count,5:N0} {@Obj}" };
        entry.Properties.Add(new("Count", 12));
        entry.Properties.Add(new("Obj", new LogStructure(null, [new("A", 1)])));

        using var json = JsonDocument.Parse(Format(entry, LineFormat.Json));
        Assert.Equal("{literal} {Missing} 12 {\"A\":1}", json.RootElement.GetProperty("msg").GetString());
    }

    [Fact]
    public void Same_entry_formats_to_identical_bytes_every_time()
    {
        var payload = new EntryEncoder().Encode(Entry()).ToArray();
        using var first = new LineFormatter(LineFormat.Json);
        using var second = new LineFormatter(LineFormat.Json);
        Assert.True(EntryView.TryDecode(payload, out var view));
        var a = first.Format(view, true).ToArray();
        var b = second.Format(view, true).ToArray();
        Assert.Equal(a, b);
    }
}
