using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using LogPersist.Loki;
using LogPersist.Loki.Proto;
using Snappier;

namespace LogPersist.Tests.Loki;

public class PushEncoderTests
{
    private static readonly string GoldenPath = Path.Combine(AppContext.BaseDirectory, "Loki", "Golden", "push-request.hex");

    internal static List<PushStream> FixedRequest()
    {
        var api = new PushStream(LabelSet.Create([new("service_name", "api"), new("pod", "api-0")]));
        api.Entries.Add(new PushEntry(1_700_000_000_000_000_001, "{\"level\":\"info\",\"msg\":\"hello\"}"u8.ToArray(), null));
        api.Entries.Add(new PushEntry(1_700_000_001_500_000_000, "second \"line\" é"u8.ToArray(), [new("trace_id", "0af7651916cd43dd8448eb211c80319c")]));
        var worker = new PushStream(LabelSet.Create([new("service_name", "worker")]));
        worker.Entries.Add(new PushEntry(-1, "before the epoch"u8.ToArray(), null));
        return [api, worker];
    }

    [Fact]
    public void Protobuf_body_matches_the_checked_in_golden_bytes()
    {
        using var content = PushEncoder.Encode(FixedRequest(), PushEncoding.Protobuf, gzipJson: false, System.Buffers.ArrayPool<byte>.Shared);
        var raw = Snappy.DecompressToArray(content.Body.Span);
        var golden = Convert.FromHexString(File.ReadAllText(GoldenPath).Trim());

        Assert.Equal("application/x-protobuf", content.ContentType);
        Assert.Null(content.ContentEncoding);
        Assert.Equal(Convert.ToHexString(golden), Convert.ToHexString(raw));
    }

    /// <summary>The request as the generated protobuf types build it: what the body must decode to, byte for byte.</summary>
    private static PushRequest Generated(IReadOnlyList<PushStream> streams)
    {
        var request = new PushRequest();
        foreach (var stream in streams.Where(s => s.Entries.Count > 0))
        {
            var adapter = new StreamAdapter { Labels = stream.Labels.Text };
            foreach (var entry in stream.Entries)
            {
                var seconds = Math.DivRem(entry.TimestampNs, 1_000_000_000L, out var nanos);
                var item = new EntryAdapter
                {
                    Timestamp = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = nanos < 0 ? seconds - 1 : seconds, Nanos = (int)(nanos < 0 ? nanos + 1_000_000_000L : nanos) },
                    Line = Encoding.UTF8.GetString(entry.Line.Span),
                };
                foreach (var (name, value) in entry.Metadata ?? [])
                {
                    item.StructuredMetadata.Add(new LabelPairAdapter { Name = name, Value = value });
                }

                adapter.Entries.Add(item);
            }

            request.Streams.Add(adapter);
        }

        return request;
    }

    private static PushRequest Decode(PushContent content) => PushRequest.Parser.ParseFrom(Snappy.DecompressToArray(content.Body.Span));

    /// <summary>Lines and streams that stress the hand-written encoder: multi-byte lengths, non-ASCII, empty fields, the epoch.</summary>
    private static List<PushStream> AwkwardRequest()
    {
        var a = new PushStream(LabelSet.Create([new("service_name", "caf\u00e9 \"q\""), new("pod", "日本-0")]));
        a.Entries.Add(new PushEntry(0, ""u8.ToArray(), null));
        a.Entries.Add(new PushEntry(1_000_000_000, "née 😀 \u0000 ctl"u8.ToArray(), null));
        a.Entries.Add(new PushEntry(-1_500_000_000, Encoding.UTF8.GetBytes(new string('x', 127)), [new("trace_id", "ü"), new("", "empty name")]));
        a.Entries.Add(new PushEntry(long.MaxValue, Encoding.UTF8.GetBytes(new string('é', 100)), null));
        a.Entries.Add(new PushEntry(long.MinValue, Encoding.UTF8.GetBytes(new string('y', 20_000)), [new("adopted_by", "")]));
        var empty = new PushStream(LabelSet.Create([new("service_name", "none")]));
        var b = new PushStream(LabelSet.Create([new("service_name", "b")]));
        for (var i = 0; i < 300; i++)
        {
            b.Entries.Add(new PushEntry(1_700_000_000_000_000_000 + i, Encoding.UTF8.GetBytes("line " + i + new string('ä', i)), null, Marker: i % 7 == 0));
        }

        return [a, empty, b];
    }

    [Fact]
    public void Protobuf_body_is_byte_for_byte_what_the_generated_types_write()
    {
        foreach (var streams in new[] { FixedRequest(), AwkwardRequest() })
        {
            using var content = PushEncoder.Encode(streams, PushEncoding.Protobuf, gzipJson: false, System.Buffers.ArrayPool<byte>.Shared);

            var raw = Snappy.DecompressToArray(content.Body.Span);
            Assert.Equal(Convert.ToHexString(Generated(streams).ToByteArray()), Convert.ToHexString(raw));
            Assert.Equal(streams.Sum(s => s.Entries.Count), content.Entries);
        }
    }

    [Fact]
    public void Protobuf_body_decodes_to_the_same_streams_lines_and_metadata()
    {
        var streams = AwkwardRequest();
        using var content = PushEncoder.Encode(streams, PushEncoding.Protobuf, gzipJson: false, System.Buffers.ArrayPool<byte>.Shared);

        var request = Decode(content);
        Assert.Equal(2, request.Streams.Count);
        Assert.Equal(streams[0].Labels.Text, request.Streams[0].Labels);
        Assert.Equal("née 😀 \u0000 ctl", request.Streams[0].Entries[1].Line);
        Assert.Equal("", request.Streams[0].Entries[0].Line);
        Assert.Equal(new string('y', 20_000), request.Streams[0].Entries[4].Line);
        Assert.Equal("ü", request.Streams[0].Entries[2].StructuredMetadata[0].Value);
        Assert.Equal(-2, request.Streams[0].Entries[2].Timestamp.Seconds);
        Assert.Equal(500_000_000, request.Streams[0].Entries[2].Timestamp.Nanos);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => "line " + i + new string('ä', i)), request.Streams[1].Entries.Select(e => e.Line));
    }

    [Fact]
    public void Protobuf_timestamps_split_into_seconds_and_nanos_even_before_the_epoch()
    {
        using var content = PushEncoder.Encode(FixedRequest(), PushEncoding.Protobuf, gzipJson: false, System.Buffers.ArrayPool<byte>.Shared);
        var request = Decode(content);

        Assert.Equal(1_700_000_001, request.Streams[0].Entries[1].Timestamp.Seconds);
        Assert.Equal(500_000_000, request.Streams[0].Entries[1].Timestamp.Nanos);
        Assert.Equal(-1, request.Streams[1].Entries[0].Timestamp.Seconds);
        Assert.Equal(999_999_999, request.Streams[1].Entries[0].Timestamp.Nanos);
        Assert.Equal("{pod=\"api-0\", service_name=\"api\"}", request.Streams[0].Labels);
        Assert.Equal("trace_id", request.Streams[0].Entries[1].StructuredMetadata[0].Name);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Json_body_carries_the_same_lines_as_the_protobuf_one(bool gzip)
    {
        var streams = AwkwardRequest();
        using var content = PushEncoder.Encode(streams, PushEncoding.Json, gzip, System.Buffers.ArrayPool<byte>.Shared);
        using var body = gzip ? (Stream)new GZipStream(new MemoryStream(content.Body.ToArray()), CompressionMode.Decompress) : new MemoryStream(content.Body.ToArray());
        using var json = JsonDocument.Parse(body);

        var sent = json.RootElement.GetProperty("streams");
        Assert.Equal(2, sent.GetArrayLength());
        Assert.Equal("日本-0", sent[0].GetProperty("stream").GetProperty("pod").GetString());
        var expected = Generated(streams).Streams.SelectMany(s => s.Entries.Select(e => e.Line));
        Assert.Equal(expected, sent.EnumerateArray().SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[1].GetString())));
        Assert.Equal("-1500000000", sent[0].GetProperty("values")[2][0].GetString());
    }

    [Fact]
    public void Json_body_is_gzip_compressed_with_labels_as_an_object_and_timestamps_as_strings()
    {
        using var content = PushEncoder.Encode(FixedRequest(), PushEncoding.Json, gzipJson: true, System.Buffers.ArrayPool<byte>.Shared);
        using var zip = new GZipStream(new MemoryStream(content.Body.ToArray()), CompressionMode.Decompress);
        using var json = JsonDocument.Parse(zip);

        Assert.Equal("gzip", content.ContentEncoding);
        var stream = json.RootElement.GetProperty("streams")[0];
        Assert.Equal("api-0", stream.GetProperty("stream").GetProperty("pod").GetString());
        var second = stream.GetProperty("values")[1];
        Assert.Equal("1700000001500000000", second[0].GetString());
        Assert.Equal("second \"line\" é", second[1].GetString());
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", second[2].GetProperty("trace_id").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("streams")[0].GetProperty("values")[0].GetArrayLength());
    }

    [Fact]
    public void Streams_without_entries_are_left_out()
    {
        var empty = new PushStream(LabelSet.Create([new("a", "b")]));
        using var content = PushEncoder.Encode([empty, .. FixedRequest()], PushEncoding.Protobuf, gzipJson: false, System.Buffers.ArrayPool<byte>.Shared);
        Assert.Equal(2, Decode(content).Streams.Count);
    }
}
