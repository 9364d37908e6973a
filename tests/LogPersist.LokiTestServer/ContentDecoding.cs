using System.IO.Compression;

namespace LogPersist.LokiTestServer;

/// <summary>
/// Undoes the Content-Encoding of a push body as Loki does (pkg/loghttp/push/push.go): none and "snappy" pass
/// through (a protobuf body is snappy anyway), "gzip" and "deflate" (raw DEFLATE, Go's compress/flate) are
/// inflated, anything else is a 400.
/// </summary>
internal static class ContentDecoding
{
    /// <summary>Returns the decoded body (<paramref name="body"/> itself when nothing is to undo) or null with the 400 text.</summary>
    public static ReadOnlyMemory<byte>? TryDecode(string? encoding, ReadOnlyMemory<byte> body, out string? error)
    {
        error = null;
        switch (encoding)
        {
            case null or "" or "snappy":
                return body;
            case "gzip":
                return Inflate(body, stream => new GZipStream(stream, CompressionMode.Decompress), out error);
            case "deflate":
                return Inflate(body, stream => new DeflateStream(stream, CompressionMode.Decompress), out error);
            default:
                error = LokiMessages.UnsupportedEncoding(encoding);
                return null;
        }
    }

    private static ReadOnlyMemory<byte>? Inflate(ReadOnlyMemory<byte> body, Func<Stream, Stream> decompressor, out string? error)
    {
        try
        {
            using var compressed = new MemoryStream(body.ToArray(), writable: false);
            using var inflating = decompressor(compressed);
            using var output = new MemoryStream();
            inflating.CopyTo(output);
            error = null;
            return output.GetBuffer().AsMemory(0, (int)output.Length);
        }
        catch (InvalidDataException e)
        {
            error = e.Message;
            return null;
        }
    }
}
