using System.IO.Compression;
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
        api.Entries.Add(new PushEntry(1_700_000_000_000_000_001, "{\"level\":\"info\",\"msg\":\"hello\"}", 30, null));
        api.Entries.Add(new PushEntry(1_700_000_001_500_000_000, "second \"line\" é", 17, [new("trace_id", "0af7651916cd43dd8448eb211c80319c")]));
        var worker = new PushStream(LabelSet.Create([new("service_name", "worker")]));
        worker.Entries.Add(new PushEntry(-1, "before the epoch", 16, null));
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

    [Fact]
    public void Protobuf_timestamps_split_into_seconds_and_nanos_even_before_the_epoch()
    {
        var request = PushEncoder.ToProtobuf(FixedRequest());

        Assert.Equal(1_700_000_001, request.Streams[0].Entries[1].Timestamp.Seconds);
        Assert.Equal(500_000_000, request.Streams[0].Entries[1].Timestamp.Nanos);
        Assert.Equal(-1, request.Streams[1].Entries[0].Timestamp.Seconds);
        Assert.Equal(999_999_999, request.Streams[1].Entries[0].Timestamp.Nanos);
        Assert.Equal("{pod=\"api-0\", service_name=\"api\"}", request.Streams[0].Labels);
        Assert.Equal("trace_id", request.Streams[0].Entries[1].StructuredMetadata[0].Name);
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
        var request = PushEncoder.ToProtobuf([empty, .. FixedRequest()]);
        Assert.Equal(2, request.Streams.Count);
    }
}
