using System.Text;
using System.Text.Json;
using LogPersist.Entries;

namespace LogPersist.Tests.Entries;

public class EntryEncodingTests
{
    private static LogEntry Sample()
    {
        var entry = new LogEntry
        {
            TimestampNs = 1_700_000_000_123_456_789,
            Level = EntryLevel.Warning,
            Category = "Orders.Api",
            Template = "Order {OrderId} took {Elapsed} ms",
            EventId = -42,
            EventName = "OrderSlow",
            Exception = "System.TimeoutException: late\n   at Orders.Run()",
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = "b7ad6b7169203331",
        };
        entry.Properties.Add(new("OrderId", 17L));
        entry.Properties.Add(new("Elapsed", 12.5));
        entry.Properties.Add(new("Customer", new LogStructure("Customer", [new("Name", "Ann \"A\""), new("Vip", true)])));
        entry.Properties.Add(new("Tags", new[] { "a", "b" }));
        entry.Properties.Add(new("Price", 9.99m));
        entry.Properties.Add(new("Nothing", null));
        entry.Scopes.Add("request 7");
        entry.Scopes.Add(new Dictionary<string, object?> { ["User"] = "ann" });
        return entry;
    }

    [Fact]
    public void Decoded_view_holds_every_field_that_was_encoded()
    {
        var payload = new EntryEncoder().Encode(Sample()).ToArray();

        Assert.True(EntryView.TryDecode(payload, out var view));
        Assert.Equal(1_700_000_000_123_456_789, view.TimestampNs);
        Assert.Equal(EntryLevel.Warning, view.Level);
        Assert.Equal("Orders.Api", Encoding.UTF8.GetString(view.Category));
        Assert.False(view.Has(EntryFlags.Message));
        Assert.Equal("Order {OrderId} took {Elapsed} ms", Encoding.UTF8.GetString(view.Template));
        Assert.Equal(-42, view.EventId);
        Assert.Equal("OrderSlow", Encoding.UTF8.GetString(view.EventName));
        Assert.StartsWith("System.TimeoutException", Encoding.UTF8.GetString(view.Exception), StringComparison.Ordinal);
        Assert.Equal(24, view.Trace.Length);
        Assert.Equal(6, view.PropertyCount);
        Assert.Equal(2, view.ScopeCount);
    }

    [Fact]
    public void First_byte_is_the_format_version_and_unknown_versions_are_refused()
    {
        var payload = new EntryEncoder().Encode(Sample()).ToArray();
        Assert.Equal(EntryFormat.Version1, payload[0]);

        payload[0] = 2;
        Assert.False(EntryView.TryDecode(payload, out _));
    }

    [Fact]
    public void Every_truncation_of_a_payload_is_refused_not_thrown()
    {
        var payload = new EntryEncoder().Encode(Sample()).ToArray();
        for (var length = 0; length < payload.Length; length++)
        {
            var cut = payload.AsSpan(0, length);
            Assert.False(EntryView.TryDecode(cut, out _), $"a payload cut to {length} of {payload.Length} bytes decoded");
        }
    }

    [Fact]
    public void Invalid_utf16_is_replaced_not_thrown()
    {
        var entry = new LogEntry { Category = "c", Message = "bad \ud800 surrogate" };
        entry.Properties.Add(new("p", "\udc00"));

        using var formatter = new LineFormatter(LineFormat.Json);
        Assert.True(EntryView.TryDecode(new EntryEncoder().Encode(entry), out var view));
        using var json = JsonDocument.Parse(formatter.Format(view, includeTrace: true).ToArray());

        Assert.Equal("bad \ufffd surrogate", json.RootElement.GetProperty("msg").GetString());
        Assert.Equal("\ufffd", json.RootElement.GetProperty("p").GetString());
    }

    [Fact]
    public void A_throwing_ToString_becomes_a_visible_placeholder()
    {
        var entry = new LogEntry { Category = "c", Message = "m" };
        entry.Properties.Add(new("p", new Throwing()));

        using var formatter = new LineFormatter(LineFormat.Json);
        Assert.True(EntryView.TryDecode(new EntryEncoder().Encode(entry), out var view));
        using var json = JsonDocument.Parse(formatter.Format(view, includeTrace: true).ToArray());

        Assert.Equal("<InvalidOperationException from ToString>", json.RootElement.GetProperty("p").GetString());
    }

    private sealed class Throwing
    {
        public override string ToString() => throw new InvalidOperationException("no");
    }
}
