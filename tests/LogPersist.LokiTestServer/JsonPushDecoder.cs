using System.Globalization;
using System.Text.Json;
using LogPersist.LokiTestServer.Proto;

namespace LogPersist.LokiTestServer;

/// <summary>
/// Decodes a JSON push body, <c>{"streams":[{"stream":{"app":"x"},"values":[["&lt;unix ns&gt;","line"(, {metadata})?]]}]}</c>,
/// into the same <see cref="PushRequest"/> a protobuf body gives. The stream's labels become a label-set string as Loki's
/// <c>loghttp.LabelSet.String()</c> writes it (names sorted and as they are, values Go-quoted), then parsed (and refused)
/// like a protobuf one. Loki 2.7 knows no third element (structured metadata) and refuses it.
/// </summary>
internal static class JsonPushDecoder
{
    public static PushRequest? TryDecode(ReadOnlyMemory<byte> body, bool allowMetadata, out string? error)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var request = Decode(document.RootElement, allowMetadata);
            error = null;
            return request;
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException or InvalidOperationException)
        {
            error = "loghttp.PushRequest: " + e.Message;
            return null;
        }
    }

    private static PushRequest Decode(JsonElement root, bool allowMetadata)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the body is not a JSON object");
        }

        var request = new PushRequest();
        if (!root.TryGetProperty("streams", out var streams) || streams.ValueKind == JsonValueKind.Null)
        {
            return request;
        }

        foreach (var stream in streams.EnumerateArray())
        {
            request.Streams.Add(DecodeStream(stream, allowMetadata));
        }

        return request;
    }

    private static StreamAdapter DecodeStream(JsonElement stream, bool allowMetadata)
    {
        // A Go map: the last of a repeated name wins, and names are written sorted.
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (stream.TryGetProperty("stream", out var labelObject) && labelObject.ValueKind != JsonValueKind.Null)
        {
            foreach (var label in labelObject.EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? "";
            }
        }

        var adapter = new StreamAdapter { Labels = "{" + string.Join(", ", labels.Select(l => l.Key + "=" + GoQuote.Quote(l.Value))) + "}" };
        if (stream.TryGetProperty("values", out var values) && values.ValueKind != JsonValueKind.Null)
        {
            foreach (var value in values.EnumerateArray())
            {
                adapter.Entries.Add(DecodeEntry(value, allowMetadata));
            }
        }

        return adapter;
    }

    private static EntryAdapter DecodeEntry(JsonElement value, bool allowMetadata)
    {
        var length = value.GetArrayLength();
        if (!allowMetadata && length > 2)
        {
            // pkg/loghttp/entry.go at v2.7.7 (jsoniter's report, without its position context).
            throw new FormatException("loghttp.Stream.Entries: error reading entry: array must contains 2 values");
        }

        if (length is < 2 or > 3)
        {
            throw new FormatException("a value must be [\"<unix ns>\", \"<line>\"] or [\"<unix ns>\", \"<line>\", {structured metadata}]");
        }

        var ns = long.Parse(value[0].GetString() ?? "", NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var entry = new EntryAdapter
        {
            Timestamp = UnixNanos.ToTimestamp(ns),
            Line = value[1].GetString() ?? "",
        };
        if (length == 3)
        {
            foreach (var pair in value[2].EnumerateObject())
            {
                entry.StructuredMetadata.Add(new LabelPairAdapter { Name = pair.Name, Value = pair.Value.GetString() ?? "" });
            }
        }

        return entry;
    }
}
