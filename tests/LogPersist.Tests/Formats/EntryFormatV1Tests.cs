using System.Text;
using LogPersist.Entries;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Formats;

/// <summary>
/// Entry format version 1, pinned by a checked-in payload (<c>Fixtures/v1/entries/every-kind.bin</c>, every byte
/// explained in <c>Fixtures/v1/README.md</c>): LogPersist reads every field and value kind of it as written, and its
/// encoder still writes these bytes, but for counts it may write as padded varints (which version 1 readers read alike).
/// </summary>
public sealed class EntryFormatV1Tests
{
    private static readonly byte[] EveryKind = Fixtures.Bytes("v1", "entries", "every-kind.bin");

    [Fact]
    public void Every_field_and_value_kind_of_a_version_1_entry_reads_as_it_was_written()
    {
        Assert.True(EntryView.TryDecode(EveryKind, out var view));

        Assert.Equal(1_767_225_600_123_456_789, view.TimestampNs);
        Assert.Equal(EntryLevel.Warning, view.Level);
        Assert.Equal("Orders.Api", Encoding.UTF8.GetString(view.Category));
        Assert.Equal("Order 42 took 12.5 ms", Encoding.UTF8.GetString(view.Message));
        Assert.Equal("Order {OrderId} took {Elapsed} ms", Encoding.UTF8.GetString(view.Template));
        Assert.Equal(-42, view.EventId);
        Assert.Equal("OrderSlow", Encoding.UTF8.GetString(view.EventName));
        Assert.Equal("System.TimeoutException: late\n   at Orders.Run()", Encoding.UTF8.GetString(view.Exception));
        Assert.Equal("0af7651916cd43dd8448eb211c80319c" + "b7ad6b7169203331", Convert.ToHexStringLower(view.Trace));
        Assert.Equal(
            [
                "Null=null",
                "False=false",
                "True=true",
                "Int=int:-300",
                "Long=int:9223372036854775807",
                "ULong=uint:18446744073709551615",
                "Double=double:12.5",
                "Text=string:\"naïve ☃\"",
                "Price=number:9.99",
                "Tags=seq[string:\"a\", int:1]",
                "Customer=map Customer{Name=string:\"Ann\", Vip=true}",
                "Nested=map {Inner=seq[null]}",
            ],
            EncodedValues.Properties(view));
        Assert.Equal(["string:\"request 7\"", "map {User=string:\"ann\"}"], EncodedValues.Scopes(view));
    }

    [Fact]
    public void A_version_1_entry_cut_anywhere_is_refused_rather_than_misread()
    {
        for (var length = 0; length < EveryKind.Length; length++)
        {
            Assert.False(EntryView.TryDecode(EveryKind.AsSpan(0, length), out _), $"the first {length} bytes decode as an entry");
        }
    }

    [Fact]
    public void The_encoder_still_writes_a_version_1_entry_byte_for_byte()
    {
        var entry = new LogEntry
        {
            TimestampNs = 1_767_225_600_123_456_789,
            Level = EntryLevel.Warning,
            Category = "Orders.Api",
            Message = "Order 42 took 12.5 ms",
            Template = "Order {OrderId} took {Elapsed} ms",
            EventId = -42,
            EventName = "OrderSlow",
            Exception = "System.TimeoutException: late\n   at Orders.Run()",
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = "b7ad6b7169203331",
        };
        entry.Properties.Add(new("Null", null));
        entry.Properties.Add(new("False", false));
        entry.Properties.Add(new("True", true));
        entry.Properties.Add(new("Int", -300));
        entry.Properties.Add(new("Long", long.MaxValue));
        entry.Properties.Add(new("ULong", ulong.MaxValue));
        entry.Properties.Add(new("Double", 12.5));
        entry.Properties.Add(new("Text", "naïve ☃"));
        entry.Properties.Add(new("Price", 9.99m));
        entry.Properties.Add(new("Tags", new object?[] { "a", 1 }));
        entry.Properties.Add(new("Customer", new LogStructure("Customer", [new("Name", "Ann"), new("Vip", true)])));
        entry.Properties.Add(new("Nested", new Dictionary<string, object?> { ["Inner"] = new object?[] { null } }));
        entry.Scopes.Add("request 7");
        entry.Scopes.Add(new Dictionary<string, object?> { ["User"] = "ann" });

        // New WALs must read as version 1 documents them, for readers of earlier releases too (a rollback). The bytes
        // may differ only where version 1 leaves a choice: a count written as a padded varint (the encoder reserves a
        // count's bytes and fills them in once a sequence has been read, never materialising it) reads the same.
        var written = new EntryEncoder().Encode(entry).ToArray();
        Assert.Equal(EveryKind[0], written[0]);
        Assert.Equal(Line(EveryKind), Line(written));
        Assert.Equal(Convert.ToHexString(Minimal(EveryKind)), Convert.ToHexString(Minimal(written)));
    }

    private static string Line(byte[] encoded)
    {
        Assert.True(EntryView.TryDecode(encoded, out var view));
        using var formatter = new LineFormatter(LineFormat.Json);
        return System.Text.Encoding.UTF8.GetString(formatter.Format(view, includeTrace: true));
    }

    /// <summary>The bytes with every padded varint byte (0x80 continuing into a zero byte that ends it) folded away.</summary>
    private static byte[] Minimal(byte[] encoded)
    {
        var result = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] >= 0x80 && i + 1 < encoded.Length && encoded[i + 1] == 0x00 && (i == 0 || encoded[i - 1] < 0x80))
            {
                result.Add((byte)(encoded[i] & 0x7F));
                i++;
                continue;
            }

            result.Add(encoded[i]);
        }

        return [.. result];
    }
}
