using System.Text;
using LogPersist.Entries;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Tests.Shipping;

public class BatchLinesTests
{
    private static ShipperOptions Options(LineFormat format = LineFormat.Json, int maxLineBytes = 256 * 1024, OversizedLineMode oversized = OversizedLineMode.Truncate) => new()
    {
        Loki = new LokiClientOptions { Endpoint = new Uri("http://127.0.0.1:9/loki/api/v1/push") },
        DetectedLabels = [new("service_name", "tests")],
        LineFormat = format,
        MaxLineBytes = maxLineBytes,
        OversizedLines = oversized,
        MaxEntryAge = null,
    };

    private static WalRecord Record(RecordKind kind, byte[] payload, long index) =>
        new(kind, new WalPosition(1, index * 100), new WalPosition(1, (index + 1) * 100), payload);

    private static byte[] Encode(LogEntry entry) => new EntryEncoder().Encode(entry).ToArray();

    private static LogEntry Entry(string message, string category = "Shop.Orders") => new()
    {
        TimestampNs = 1_700_000_000_000_000_000,
        Level = EntryLevel.Information,
        Category = category,
        Message = message,
    };

    /// <summary>What a line was before it stayed UTF-8: the formatter's bytes through a .NET string and back.</summary>
    private static string ThroughString(ShipperOptions options, byte[] payload)
    {
        using var formatter = new LineFormatter(options.LineFormat);
        Assert.True(EntryView.TryDecode(payload, out var view));
        return Convert.ToHexString(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(formatter.Format(view, includeTrace: true))));
    }

    private static Batch Build(ShipperOptions options, params (RecordKind Kind, byte[] Payload)[] records)
    {
        using var builder = new BatchBuilder(options, new StreamResolver(options));
        for (var i = 0; i < records.Length; i++)
        {
            builder.Add(Record(records[i].Kind, records[i].Payload, i));
        }

        return builder.Seal(new WalPosition(1, 0), new WalPosition(1, records.Length * 100));
    }

    [Theory]
    [InlineData(LineFormat.Json)]
    [InlineData(LineFormat.Logfmt)]
    [InlineData(LineFormat.Text)]
    public void Lines_are_the_bytes_a_string_round_trip_gave_for_non_ascii_and_lone_surrogates(LineFormat format)
    {
        var options = Options(format);
        string[] messages = ["plain", "café 日本 😀", "lone \ud800 high", "lone \udc00 low", "swapped \udc00\ud800", "tab\tquote\"back\\slash\nnew"];
        var payloads = messages.Select(m => Encode(Entry(m))).ToArray();

        var batch = Build(options, [.. payloads.Select(p => (RecordKind.Data, p))]);

        var lines = batch.Streams.Single().Entries.Select(e => Convert.ToHexString(e.Line.Span));
        Assert.Equal(payloads.Select(p => ThroughString(options, p)), lines);
        batch.Release();
    }

    [Theory]
    [InlineData(LineFormat.Logfmt)]
    [InlineData(LineFormat.Text)]
    public void Malformed_utf8_in_a_line_is_replaced_as_a_string_would_carry_it(LineFormat format)
    {
        var options = Options(format);

        // The category "Zqé" with its é damaged into an invalid sequence under a valid record: raw bytes
        // a producer could hand over, which logfmt and text copy into the line.
        var payload = Encode(Entry("m", category: "Zq\u00e9"));
        var at = payload.AsSpan().IndexOf("Zq\u00e9"u8);
        payload[at + 3] = 0x28;

        var batch = Build(options, (RecordKind.Data, payload));

        var line = batch.Streams.Single().Entries.Single().Line;
        Assert.True(System.Text.Unicode.Utf8.IsValid(line.Span));
        Assert.Equal(ThroughString(options, payload), Convert.ToHexString(line.Span));
        Assert.Contains("Zq\ufffd(", Encoding.UTF8.GetString(line.Span), StringComparison.Ordinal);
        batch.Release();
    }

    [Fact]
    public void Split_and_truncated_lines_keep_whole_characters()
    {
        var message = string.Concat(Enumerable.Repeat("é日😀", 200));
        var split = Build(Options(LineFormat.Text, maxLineBytes: 256, oversized: OversizedLineMode.Split), (RecordKind.Data, Encode(Entry(message))));
        var truncated = Build(Options(LineFormat.Text, maxLineBytes: 256), (RecordKind.Data, Encode(Entry(message))));

        var pieces = split.Streams.Single().Entries;
        Assert.True(pieces.Count > 3);
        Assert.All(pieces, p => Assert.True(p.Line.Length <= 256 && System.Text.Unicode.Utf8.IsValid(p.Line.Span)));
        Assert.Equal("info Shop.Orders: " + message, string.Concat(pieces.Select(p => Encoding.UTF8.GetString(p.Line.Span))));
        var cut = Encoding.UTF8.GetString(truncated.Streams.Single().Entries.Single().Line.Span);
        Assert.StartsWith("info Shop.Orders: é日😀", cut, StringComparison.Ordinal);
        Assert.EndsWith(" bytes]", cut, StringComparison.Ordinal);
        split.Release();
        truncated.Release();
    }

    [Fact]
    public void A_batch_holds_its_chunks_until_released_and_releasing_twice_is_harmless()
    {
        var options = Options();
        var payload = Encode(Entry(new string('x', 300)));
        var batch = Build(options, [.. Enumerable.Range(0, 500).Select(_ => (RecordKind.Data, payload))]);
        var (first, second) = Batch.Split(batch.Streams);

        Assert.True(batch.Lines.Rented >= 2);
        Assert.False(batch.Lines.IsReleased);
        Assert.Equal(batch.Streams.Single().Entries[0].Line.ToArray(), first.Single().Entries[0].Line.ToArray());
        Assert.Equal(batch.Streams.Single().Entries[^1].Line.ToArray(), second.Single().Entries[^1].Line.ToArray());

        batch.Release();
        batch.Release();

        Assert.True(batch.Lines.IsReleased);
        Assert.Equal(0, batch.Lines.Rented);
        Assert.Empty(batch.Streams.Single().Entries);

        // The halves are their own lists: still whole, still enumerable, though their lines must not be read now.
        Assert.Equal(500, first.Single().Entries.Count + second.Single().Entries.Count);
        Assert.Equal(first.Single().Entries.AsSpan().ToArray(), first.Single().Entries.ToArray());
    }

    [Fact]
    public void A_rebuilt_batch_is_released_with_the_batch_it_replaces()
    {
        var options = Options();
        var payload = Encode(Entry("again"));
        var batch = Build(options, (RecordKind.Data, payload));
        var rebuilt = Build(options, (RecordKind.Data, payload));

        batch.ReleaseWith(rebuilt);
        Assert.False(rebuilt.Lines.IsReleased);
        batch.Release();

        Assert.True(rebuilt.Lines.IsReleased);
    }

    [Fact]
    public void Lines_added_and_never_sealed_go_back_when_the_builder_ends()
    {
        var options = Options();
        var builder = new BatchBuilder(options, new StreamResolver(options));
        builder.Add(Record(RecordKind.Data, Encode(Entry("unsent")), 0));
        var sealedBatch = builder.Seal(new WalPosition(1, 0), new WalPosition(1, 100));
        builder.Add(Record(RecordKind.Data, Encode(Entry("left behind")), 1));

        builder.Dispose();

        Assert.False(sealedBatch.Lines.IsReleased);
        Assert.Equal("info", System.Text.Json.JsonDocument.Parse(sealedBatch.Streams.Single().Entries.Single().Line).RootElement.GetProperty("level").GetString());
        sealedBatch.Release();
    }
}
