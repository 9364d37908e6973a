using System.Buffers;
using System.Text.Json;

namespace LogPersist.Entries;

/// <summary>
/// Renders a message template (<c>"Order {OrderId} took {Elapsed:0.0} ms"</c>) with the entry's
/// properties, for entries stored without a rendered message. Holes name a property, optionally
/// with <c>@</c>/<c>$</c>, an alignment or a format (format and alignment are not applied); a
/// hole with no matching property is kept as written; <c>{{</c> and <c>}}</c> are braces.
/// </summary>
internal static class MessageRenderer
{
    public static void Render(IBufferWriter<byte> output, ReadOnlySpan<byte> template, in EntryView entry, Utf8JsonWriter scratch)
    {
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if ((c == (byte)'{' || c == (byte)'}') && i + 1 < template.Length && template[i + 1] == c)
            {
                output.Write(template.Slice(i, 1));
                i += 2;
                continue;
            }

            if (c != (byte)'{')
            {
                var next = template[i..].IndexOfAny((byte)'{', (byte)'}');
                var run = next < 0 ? template[i..] : template.Slice(i, Math.Max(next, 1));
                output.Write(run);
                i += run.Length;
                continue;
            }

            var close = template[(i + 1)..].IndexOf((byte)'}');
            if (close < 0)
            {
                output.Write(template[i..]);
                return;
            }

            var hole = template.Slice(i + 1, close);
            var name = hole;
            if (name.Length > 0 && (name[0] == (byte)'@' || name[0] == (byte)'$'))
            {
                name = name[1..];
            }

            var end = name.IndexOfAny((byte)',', (byte)':');
            if (end >= 0)
            {
                name = name[..end];
            }

            if (!WriteProperty(output, name, entry, scratch))
            {
                output.Write(template.Slice(i, close + 2));
            }

            i += close + 2;
        }
    }

    private static bool WriteProperty(IBufferWriter<byte> output, ReadOnlySpan<byte> name, in EntryView entry, Utf8JsonWriter scratch)
    {
        var reader = entry.PropertyReader();
        for (var p = 0; p < entry.PropertyCount; p++)
        {
            if (!reader.TryReadName(out var candidate))
            {
                return false;
            }

            if (!candidate.SequenceEqual(name))
            {
                if (!reader.TrySkipValue())
                {
                    return false;
                }

                continue;
            }

            return reader.TryReadValue(out var token) && ValueText.WriteText(output, ref reader, token, scratch);
        }

        return false;
    }
}
