using System.Text;
using Google.Protobuf;
using LogPersist.LokiTestServer.Proto;
using Snappier;

namespace LogPersist.LokiTestServer;

/// <summary>Decodes a protobuf push body: a <see cref="PushRequest"/> compressed with raw (block format) snappy.</summary>
internal static class ProtobufPushDecoder
{
    public static PushRequest? TryDecode(ReadOnlySpan<byte> body, long maxDecompressedBytes, out HttpAnswer failure)
    {
        failure = default;
        int length;
        try
        {
            length = Snappy.GetUncompressedLength(body);
        }
        catch (InvalidDataException)
        {
            failure = HttpAnswer.BadRequest(LokiMessages.SnappyCorrupt);
            return null;
        }

        // Checked before inflating: a single binary refuses it on the gRPC hop to its ingester.
        if (length > maxDecompressedBytes)
        {
            failure = new(StatusCodes.Status500InternalServerError, LokiMessages.GrpcLargerThanMax(length, maxDecompressedBytes));
            return null;
        }

        byte[] decompressed;
        try
        {
            decompressed = Snappy.DecompressToArray(body);
        }
        catch (InvalidDataException)
        {
            failure = HttpAnswer.BadRequest(LokiMessages.SnappyCorrupt);
            return null;
        }

        try
        {
            return PushRequest.Parser.ParseFrom(decompressed);
        }
        catch (InvalidProtocolBufferException) when (Lenient(decompressed) is { } lenient)
        {
            return lenient;
        }
        catch (InvalidProtocolBufferException e)
        {
            failure = HttpAnswer.BadRequest("proto: " + e.Message);
            return null;
        }
    }

    // Go keeps invalid UTF-8 in a string; here it becomes U+FFFD, which the label lexer refuses as Loki's does.
    private static PushRequest? Lenient(byte[] decompressed)
    {
        LenientPushRequest raw;
        try
        {
            raw = LenientPushRequest.Parser.ParseFrom(decompressed);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }

        var request = new PushRequest();
        foreach (var stream in raw.Streams)
        {
            var adapter = new StreamAdapter { Labels = Text(stream.Labels) };
            foreach (var entry in stream.Entries)
            {
                var converted = new EntryAdapter { Timestamp = entry.Timestamp, Line = Text(entry.Line) };
                foreach (var pair in entry.StructuredMetadata)
                {
                    converted.StructuredMetadata.Add(new LabelPairAdapter { Name = Text(pair.Name), Value = Text(pair.Value) });
                }

                adapter.Entries.Add(converted);
            }

            request.Streams.Add(adapter);
        }

        return request;
    }

    private static string Text(ByteString bytes) => Encoding.UTF8.GetString(bytes.Span);
}
