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
        catch (InvalidProtocolBufferException e)
        {
            failure = HttpAnswer.BadRequest("proto: " + e.Message);
            return null;
        }
    }
}
