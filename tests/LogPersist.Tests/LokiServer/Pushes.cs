using System.Net.Http.Headers;
using Google.Protobuf;
using LogPersist.LokiTestServer.Proto;
using Snappier;

namespace LogPersist.Tests.LokiServer;

/// <summary>Push bodies built by hand, as a client would send them.</summary>
internal static class Pushes
{
    public static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Unix nanoseconds of <see cref="Now"/> moved by <paramref name="offset"/>.</summary>
    public static long Ns(TimeSpan offset) => (Now + offset).ToUnixTimeMilliseconds() * 1_000_000;

    public static PushRequest Request(params StreamAdapter[] streams)
    {
        var request = new PushRequest();
        request.Streams.Add(streams);
        return request;
    }

    public static StreamAdapter Stream(string labels, params EntryAdapter[] entries)
    {
        var stream = new StreamAdapter { Labels = labels };
        stream.Entries.Add(entries);
        return stream;
    }

    public static EntryAdapter Entry(long unixNs, string line, params (string Name, string Value)[] metadata)
    {
        var entry = new EntryAdapter
        {
            Timestamp = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = unixNs / 1_000_000_000, Nanos = (int)(unixNs % 1_000_000_000) },
            Line = line,
        };
        foreach (var (name, value) in metadata)
        {
            entry.StructuredMetadata.Add(new LabelPairAdapter { Name = name, Value = value });
        }

        return entry;
    }

    /// <summary>The request as protobuf compressed with raw (block) snappy, Content-Type application/x-protobuf.</summary>
    public static ByteArrayContent Protobuf(PushRequest request)
    {
        var content = new ByteArrayContent(Snappy.CompressToArray(request.ToByteArray()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    /// <summary>Protobuf bytes as given (which may hold what a C# string cannot), snappy-compressed.</summary>
    public static ByteArrayContent RawProtobuf(byte[] protobuf)
    {
        var content = new ByteArrayContent(Snappy.CompressToArray(protobuf));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    public static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
