using System.Collections;
using System.Text;
using System.Text.Json;
using LogPersist.Entries;

namespace LogPersist.Tests.Entries;

/// <summary>
/// The encoder keeps every entry within its <see cref="EntryLimits"/>: what does not fit is cut where it
/// stops, with a marker there and a count by reason in the entry's <c>cut</c> field, never dropped.
/// </summary>
public class EntryLimitTests
{
    private static readonly EntryLimits Small = new(4096);

    [Fact]
    public void Nesting_deeper_than_16_levels_becomes_a_marker()
    {
        object value = "leaf";
        for (var i = 0; i < 20; i++)
        {
            value = new List<object> { value };
        }

        var (line, _) = EncodeProperty(value);

        var item = line.GetProperty("V");
        for (var depth = 0; depth < EntryFormat.MaxDepth; depth++)
        {
            item = Assert.Single(item.EnumerateArray().ToList());
        }

        Assert.Equal("…[cut: too_deep]", item.GetString());
        Assert.Equal(1, line.GetProperty("cut").GetProperty("too_deep").GetInt32());
    }

    [Fact]
    public void A_wide_value_without_cycles_stops_at_the_item_budget_and_is_marked_once()
    {
        // 3^15 leaves, each reached through a different path: no cycle, only breadth.
        object value = 1;
        for (var i = 0; i < 15; i++)
        {
            value = new List<object> { value, value, value };
        }

        var (line, payload) = EncodeProperty(value);

        Assert.InRange(payload.Length, 1, EntryLimits.DefaultMaxBytes);
        Assert.Equal(1, line.GetProperty("cut").GetProperty("entry_budget").GetInt32());
        Assert.Contains("\"…[cut: entry_budget]\"", line.GetProperty("V").GetRawText(), StringComparison.Ordinal);
        // The outer list, the items it holds at every depth, and the marker after them.
        Assert.Equal(1 + EntryLimits.MaxItemsInAll + 1, CountLeaves(line.GetProperty("V")) + CountArrays(line.GetProperty("V")));
    }

    [Fact]
    public void Reused_references_that_are_not_cycles_are_written_each_time()
    {
        var shared = new List<object> { 1, 2 };

        var (line, _) = EncodeProperty(new List<object> { shared, shared });

        Assert.Equal("[[1,2],[1,2]]", line.GetProperty("V").GetRawText());
        Assert.False(line.TryGetProperty("cut", out _));
    }

    [Fact]
    public void A_small_byte_array_is_its_base64()
    {
        var (line, _) = EncodeProperty(new byte[] { 1, 2, 3, 250 });

        Assert.Equal("AQID+g==", line.GetProperty("V").GetString());
        Assert.False(line.TryGetProperty("cut", out _));
    }

    [Fact]
    public void A_map_keeps_its_first_1000_pairs_and_a_named_marker()
    {
        var map = Enumerable.Range(0, 5000).ToDictionary(i => "k" + i, i => (object?)i);

        var (line, _) = EncodeProperty(map);

        var pairs = line.GetProperty("V").EnumerateObject().ToList();
        Assert.Equal(1001, pairs.Count);
        Assert.Equal(("k999", 999), (pairs[999].Name, pairs[999].Value.GetInt32()));
        Assert.Equal(("…", "…[cut: too_many_items]"), (pairs[1000].Name, pairs[1000].Value.GetString()));
        Assert.Equal(1, line.GetProperty("cut").GetProperty("too_many_items").GetInt32());
    }

    [Fact]
    public void A_sequence_of_exactly_1000_items_is_not_cut()
    {
        var (line, _) = EncodeProperty(Enumerable.Range(0, 1000).ToArray());

        Assert.Equal(1000, line.GetProperty("V").GetArrayLength());
        Assert.False(line.TryGetProperty("cut", out _));
    }

    [Fact]
    public void A_cut_text_ends_on_a_whole_character_and_says_how_many_chars_were_cut()
    {
        var text = string.Concat(Enumerable.Repeat("a😀", 1000));

        var (line, payload) = EncodeProperty(text, Small);

        var value = line.GetProperty("V").GetString()!;
        Assert.DoesNotContain('\ufffd', value);
        var kept = value[..value.IndexOf(" …[truncated ", StringComparison.Ordinal)];
        Assert.StartsWith(kept, text, StringComparison.Ordinal);
        Assert.EndsWith($" …[truncated {text.Length - kept.Length} chars]", value, StringComparison.Ordinal);
        Assert.InRange(Encoding.UTF8.GetByteCount(value), Small.TextBytes - 40, Small.TextBytes);
        Assert.InRange(payload.Length, 1, Small.MaxBytes);
    }

    [Fact]
    public void Once_the_budget_is_spent_later_properties_are_left_out_and_counted()
    {
        var entry = new LogEntry { Category = "c", Message = "m" };
        for (var i = 0; i < 10; i++)
        {
            entry.Properties.Add(new("P" + i, new string((char)('a' + i), 1000)));
        }

        var encoder = new EntryEncoder(Small);
        var payload = encoder.Encode(entry).ToArray();

        Assert.InRange(payload.Length, 1, Small.MaxBytes);
        Assert.True(EntryView.TryDecode(payload, out var view));
        Assert.Equal(4, view.PropertyCount);
        var line = Json(payload);
        Assert.Equal(new string('c', 1000), line.GetProperty("P2").GetString());
        Assert.Matches(@"^d* …\[truncated \d+ chars\]$", line.GetProperty("P3").GetString());
        Assert.False(line.TryGetProperty("P4", out _));
        Assert.Equal(7, line.GetProperty("cut").GetProperty("entry_budget").GetInt32());
        Assert.Equal(7, encoder.Cuts[(int)CutReason.EntryBudget]);
    }

    [Fact]
    public void Whatever_the_fields_hold_the_entry_stays_within_its_byte_limit()
    {
        var big = new string('x', 50_000);
        var entry = new LogEntry { Category = big, Message = big, Template = big, EventName = big, Exception = big };
        entry.Properties.Add(new(big, big));
        entry.Properties.Add(new("bytes", new byte[50_000]));
        entry.Scopes.Add(big);
        entry.Scopes.Add(new Dictionary<string, object?> { [big] = big });

        var encoder = new EntryEncoder(Small);
        var payload = encoder.Encode(entry).ToArray();

        Assert.InRange(payload.Length, 1, Small.MaxBytes);
        var line = Json(payload);
        Assert.EndsWith("chars]", line.GetProperty("category").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("chars]", line.GetProperty("exception").GetString(), StringComparison.Ordinal);
        Assert.True(line.GetProperty("cut").GetProperty("entry_budget").GetInt32() > 0);
    }

    [Fact]
    public void Random_entries_of_every_shape_stay_within_the_limit_and_decode_to_valid_json()
    {
        var random = new Random(17);
        var encoder = new EntryEncoder(Small);
        for (var n = 0; n < 500; n++)
        {
            var entry = new LogEntry
            {
                Category = RandomText(random, 3000),
                Message = random.Next(2) == 0 ? null : RandomText(random, 3000),
                Template = random.Next(2) == 0 ? null : RandomText(random, 3000),
                EventName = random.Next(4) == 0 ? RandomText(random, 3000) : null,
                Exception = random.Next(2) == 0 ? RandomText(random, 3000) : null,
            };
            for (var i = random.Next(20); i > 0; i--)
            {
                entry.Properties.Add(new(RandomText(random, 300), RandomValue(random, 0)));
            }

            for (var i = random.Next(4); i > 0; i--)
            {
                entry.Scopes.Add(RandomValue(random, 0));
            }

            var payload = encoder.Encode(entry).ToArray();

            Assert.InRange(payload.Length, 1, Small.MaxBytes);
            Json(payload);
        }
    }

    [Fact]
    public void Scopes_beyond_65535_are_counted_as_cut()
    {
        var entry = new LogEntry { Category = "c", Message = "m" };
        for (var i = 0; i < 65_540; i++)
        {
            entry.Scopes.Add(null);
        }

        var encoder = new EntryEncoder();
        Assert.True(EntryView.TryDecode(encoder.Encode(entry), out var view));

        Assert.Equal(ushort.MaxValue, view.ScopeCount);
        Assert.Equal(5, encoder.Cuts[(int)CutReason.TooManyProperties]);
    }

    [Fact]
    public void The_cut_summary_is_shown_in_logfmt_and_text_lines_too()
    {
        var list = new List<object>();
        list.Add(list);
        var entry = new LogEntry { Category = "c", Message = "m" };
        entry.Properties.Add(new("V", list));
        entry.Properties.Add(new("W", Enumerable.Range(0, 2000)));
        var payload = new EntryEncoder().Encode(entry).ToArray();
        Assert.True(EntryView.TryDecode(payload, out var view));

        using var logfmt = new LineFormatter(LineFormat.Logfmt);
        Assert.StartsWith("level=info category=c cut=too_many_items:1,cycle:1 msg=m ", Encoding.UTF8.GetString(logfmt.Format(view, includeTrace: true)), StringComparison.Ordinal);
        using var text = new LineFormatter(LineFormat.Text);
        Assert.Equal("info c: m cut=too_many_items:1,cycle:1", Encoding.UTF8.GetString(text.Format(view, includeTrace: true)));
        Assert.Equal("""{"too_many_items":1,"cycle":1}""", Json(payload).GetProperty("cut").GetRawText());
    }

    [Fact]
    public void A_property_named_cut_keeps_its_value_under_a_prefixed_name()
    {
        var entry = new LogEntry { Category = "c", Message = "m" };
        entry.Properties.Add(new("cut", "film"));

        var line = Json(new EntryEncoder().Encode(entry).ToArray());

        Assert.Equal("film", line.GetProperty("_cut").GetString());
        Assert.False(line.TryGetProperty("cut", out _));
    }

    [Fact]
    public void Every_truncation_of_a_payload_with_a_cut_summary_is_refused()
    {
        var list = new List<object>();
        list.Add(list);
        var entry = new LogEntry { Category = "c", Message = "m" };
        entry.Properties.Add(new("V", list));
        var payload = new EntryEncoder().Encode(entry).ToArray();

        Assert.True(EntryView.TryDecode(payload, out _));
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.False(EntryView.TryDecode(payload.AsSpan(0, length), out _), $"a payload cut to {length} of {payload.Length} bytes decoded");
        }
    }

    [Fact]
    public void An_encoder_reused_after_a_cut_entry_writes_the_next_one_without_a_cut()
    {
        var encoder = new EntryEncoder();
        var cut = new LogEntry { Category = "c", Message = "m" };
        cut.Properties.Add(new("V", Enumerable.Range(0, 2000)));
        encoder.Encode(cut);
        Assert.True(encoder.HasCuts);

        var plain = new LogEntry { Category = "c", Message = "m" };
        plain.Properties.Add(new("V", 1));
        var payload = encoder.Encode(plain).ToArray();

        Assert.False(encoder.HasCuts);
        Assert.True(EntryView.TryDecode(payload, out var view));
        Assert.False(view.Has(EntryFlags.Cut));
    }

    private static (JsonElement Line, byte[] Payload) EncodeProperty(object? value, EntryLimits? limits = null)
    {
        var entry = new LogEntry { Category = "c", Message = "m" };
        entry.Properties.Add(new("V", value));
        var payload = new EntryEncoder(limits ?? EntryLimits.Default).Encode(entry).ToArray();
        return (Json(payload), payload);
    }

    private static JsonElement Json(byte[] payload)
    {
        Assert.True(EntryView.TryDecode(payload, out var view));
        using var formatter = new LineFormatter(LineFormat.Json);
        using var json = JsonDocument.Parse(formatter.Format(view, includeTrace: true).ToArray());
        return json.RootElement.Clone();
    }

    private static string RandomText(Random random, int maxLength) =>
        new(random.Next(3) switch { 0 => 'a', 1 => 'é', _ => '€' }, random.Next(maxLength));

    /// <summary>Scalars, texts, byte arrays, long flat sequences and maps, and short nested ones up to 24 levels.</summary>
    private static object? RandomValue(Random random, int depth) => random.Next(depth >= 24 ? 4 : 9) switch
    {
        0 => null,
        1 => random.Next(),
        2 => RandomText(random, 2000),
        3 => new byte[random.Next(3000)],
        4 => Enumerable.Range(0, random.Next(1500)).Select(i => i % 3 == 0 ? RandomText(random, 20) : (object)i).ToList(),
        5 => Enumerable.Range(0, random.Next(1500)).ToDictionary(i => "k" + i, i => (object?)i),
        6 => new LogStructure(RandomText(random, 50), [new("a", RandomValue(random, depth + 1)), new("b", RandomValue(random, depth + 1))]),
        7 => new List<object?> { RandomValue(random, depth + 1) },
        _ => Enumerable.Range(0, random.Next(3)).Select(_ => RandomValue(random, depth + 1)).ToArray(),
    };

    private static int CountLeaves(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Sum(CountLeaves) : 1;

    private static int CountArrays(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? 1 + value.EnumerateArray().Sum(CountArrays) : 0;
}
