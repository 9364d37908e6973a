using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using LogPersist.Loki.Proto;
using Snappier;

namespace LogPersist.Loki;

/// <summary>
/// Encodes streams into a push body: protobuf compressed with snappy's block format (never the
/// framed format), or JSON, optionally gzip-compressed. A request with no entries is never
/// encoded (Loki 3.4+ answers 422 to it).
/// </summary>
internal static class PushEncoder
{
    public const string ProtobufContentType = "application/x-protobuf";
    public const string JsonContentType = "application/json";

    /// <summary>
    /// Encodes a request into a buffer rented from <paramref name="pool"/> (returned when the content is
    /// disposed). Bodies run to megabytes: a small dedicated pool keeps a few of them, where the
    /// shared pool would keep one per thread that ever returned one.
    /// </summary>
    public static PushContent Encode(IReadOnlyList<PushStream> streams, PushEncoding encoding, bool gzipJson, ArrayPool<byte> pool) =>
        encoding == PushEncoding.Json ? EncodeJson(streams, gzipJson, pool) : EncodeProtobuf(streams, pool);

    public static PushRequest ToProtobuf(IReadOnlyList<PushStream> streams)
    {
        var request = new PushRequest();
        foreach (var stream in streams)
        {
            if (stream.Entries.Count == 0)
            {
                continue;
            }

            var adapter = new StreamAdapter { Labels = stream.Labels.Text };
            foreach (var entry in stream.Entries)
            {
                var item = new EntryAdapter
                {
                    Timestamp = new Timestamp
                    {
                        Seconds = Math.DivRem(entry.TimestampNs, 1_000_000_000L, out var nanos) - (nanos < 0 ? 1 : 0),
                        Nanos = (int)(nanos < 0 ? nanos + 1_000_000_000L : nanos),
                    },
                    Line = entry.Line,
                };
                if (entry.Metadata is { Count: > 0 } metadata)
                {
                    foreach (var (name, value) in metadata)
                    {
                        item.StructuredMetadata.Add(new LabelPairAdapter { Name = name, Value = value });
                    }
                }

                adapter.Entries.Add(item);
            }

            request.Streams.Add(adapter);
        }

        return request;
    }

    private static PushContent EncodeProtobuf(IReadOnlyList<PushStream> streams, ArrayPool<byte> pool)
    {
        var request = ToProtobuf(streams);
        var size = request.CalculateSize();
        var raw = pool.Rent(size);
        try
        {
            request.WriteTo(raw.AsSpan(0, size));
            var compressed = pool.Rent(Snappy.GetMaxCompressedLength(size));
            var length = Snappy.Compress(raw.AsSpan(0, size), compressed);
            return new PushContent(compressed, length, ProtobufContentType, null, CountEntries(streams), pool);
        }
        finally
        {
            pool.Return(raw);
        }
    }

    private static PushContent EncodeJson(IReadOnlyList<PushStream> streams, bool gzip, ArrayPool<byte> pool)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Span<byte> digits = stackalloc byte[24];
            json.WriteStartObject();
            json.WriteStartArray("streams"u8);
            foreach (var stream in streams)
            {
                if (stream.Entries.Count == 0)
                {
                    continue;
                }

                json.WriteStartObject();
                json.WriteStartObject("stream"u8);
                foreach (var (name, value) in stream.Labels.Labels)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
                json.WriteStartArray("values"u8);
                foreach (var entry in stream.Entries)
                {
                    json.WriteStartArray();
                    System.Buffers.Text.Utf8Formatter.TryFormat(entry.TimestampNs, digits, out var n);
                    json.WriteStringValue(digits[..n]);
                    json.WriteStringValue(entry.Line);
                    if (entry.Metadata is { Count: > 0 } metadata)
                    {
                        json.WriteStartObject();
                        foreach (var (name, value) in metadata)
                        {
                            json.WriteString(name, value);
                        }

                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var entries = CountEntries(streams);
        if (!gzip)
        {
            var copy = pool.Rent(buffer.WrittenCount);
            buffer.WrittenSpan.CopyTo(copy);
            return new PushContent(copy, buffer.WrittenCount, JsonContentType, null, entries, pool);
        }

        using var compressed = new MemoryStream(buffer.WrittenCount / 4);
        using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(buffer.WrittenSpan);
        }

        var bytes = pool.Rent((int)compressed.Length);
        compressed.GetBuffer().AsSpan(0, (int)compressed.Length).CopyTo(bytes);
        return new PushContent(bytes, (int)compressed.Length, JsonContentType, "gzip", entries, pool);
    }

    private static int CountEntries(IReadOnlyList<PushStream> streams)
    {
        var count = 0;
        foreach (var stream in streams)
        {
            count += stream.Entries.Count;
        }

        return count;
    }
}
