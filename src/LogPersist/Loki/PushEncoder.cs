using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using Snappier;

namespace LogPersist.Loki;

/// <summary>
/// Encodes streams into a push body: protobuf compressed with snappy's block format (never the
/// framed format), or JSON, optionally gzip-compressed. Both are written from the entries' UTF-8
/// lines. A request with no entries is never encoded (Loki 3.4+ answers 422 to it).
/// </summary>
internal static class PushEncoder
{
    public const string ProtobufContentType = "application/x-protobuf";
    public const string JsonContentType = "application/json";

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Encodes a request into a buffer rented from <paramref name="pool"/> (returned when the content is
    /// disposed). Bodies run to megabytes: a small dedicated pool keeps a few of them, where the
    /// shared pool would keep one per thread that ever returned one. The entries' lines are read only
    /// during this call.
    /// </summary>
    public static PushContent Encode(IReadOnlyList<PushStream> streams, PushEncoding encoding, bool gzipJson, ArrayPool<byte> pool) =>
        encoding == PushEncoding.Json ? EncodeJson(streams, gzipJson, pool) : EncodeProtobuf(streams, pool);

    private static PushContent EncodeProtobuf(IReadOnlyList<PushStream> streams, ArrayPool<byte> pool)
    {
        var size = PushProtobuf.Write(streams, pool, out var raw);
        try
        {
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
        var buffer = new PooledBufferWriter(pool, EstimateJsonBytes(streams));
        try
        {
            WriteJson(streams, buffer);
            var entries = CountEntries(streams);
            if (!gzip)
            {
                var (body, length) = buffer.Detach();
                return new PushContent(body, length, JsonContentType, null, entries, pool);
            }

            // Deflate never grows data by more than a few bytes per 16 KiB block, plus gzip's header and trailer.
            var written = buffer.WrittenSpan;
            var bytes = pool.Rent(written.Length + (written.Length / 1024) + 1024);
            int compressedLength;
            using (var target = new MemoryStream(bytes, 0, bytes.Length, writable: true))
            {
                using (var zip = new GZipStream(target, CompressionLevel.Fastest, leaveOpen: true))
                {
                    zip.Write(written);
                }

                compressedLength = (int)target.Position;
            }

            return new PushContent(bytes, compressedLength, JsonContentType, "gzip", entries, pool);
        }
        finally
        {
            buffer.Dispose();
        }
    }

    private static void WriteJson(IReadOnlyList<PushStream> streams, IBufferWriter<byte> buffer)
    {
        using var json = new Utf8JsonWriter(buffer, JsonOptions);
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
                json.WriteStringValue(entry.Line.Span);
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

    /// <summary>Lines plus a little per entry and per stream: most requests fit without growing.</summary>
    private static int EstimateJsonBytes(IReadOnlyList<PushStream> streams)
    {
        long bytes = 64;
        foreach (var stream in streams)
        {
            bytes += 64 + stream.Labels.Utf8Text.Length;
            foreach (var entry in stream.Entries)
            {
                bytes += entry.Line.Length + (entry.Line.Length / 8) + 32;
            }
        }

        return (int)Math.Min(bytes, Array.MaxLength);
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
