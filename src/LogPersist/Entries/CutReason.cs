using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace LogPersist.Entries;

/// <summary>
/// Why part of an entry was cut to stay within its <see cref="EntryLimits"/>. A cut is not a drop: the
/// entry is written, with a marker where the cut was and a count per reason in its <c>cut</c> field.
/// </summary>
internal enum CutReason
{
    /// <summary>A text was longer than a quarter of the entry budget; it ends in <c>…[truncated N chars]</c> (<c>N bytes</c> for a byte array).</summary>
    TextTooLong,

    /// <summary>A sequence or map had more than <see cref="EntryLimits.MaxItems"/> items; a last item marks the cut.</summary>
    TooManyItems,

    /// <summary>A sequence or map nested deeper than <see cref="EntryFormat.MaxDepth"/> became a marker.</summary>
    TooDeep,

    /// <summary>A sequence or map that contains itself: the inner reference became a marker.</summary>
    Cycle,

    /// <summary>The entry's byte or value budget ran out: the value being written was cut and later ones left out.</summary>
    EntryBudget,

    /// <summary>More than 65,535 properties or scopes: the rest were left out.</summary>
    TooManyProperties,
}

internal static class CutReasons
{
    public const int Count = (int)CutReason.TooManyProperties + 1;

    private static readonly string[] Tags = ["text_too_long", "too_many_items", "too_deep", "cycle", "entry_budget", "too_many_properties"];

    private static readonly string[] Markers = [.. Tags.Select(tag => "…[cut: " + tag + "]")];

    private static readonly byte[][] Utf8Tags = [.. Tags.Select(Encoding.UTF8.GetBytes)];

    /// <summary>The value of the <c>reason</c> tag on the cut metric and the key in an entry's <c>cut</c> field.</summary>
    public static string TagValue(this CutReason reason) => Tags[(int)reason];

    public static ReadOnlySpan<byte> Utf8Tag(this CutReason reason) => Utf8Tags[(int)reason];

    /// <summary>The text that stands where a value was cut: <c>…[cut: cycle]</c>.</summary>
    public static string Marker(this CutReason reason) => Markers[(int)reason];

    /// <summary>
    /// Writes an entry's encoded cut summary (a map of reason to count) as <c>reason:count</c> pairs
    /// joined by commas, the form logfmt and text lines show. False if it is malformed.
    /// </summary>
    public static bool WriteSummary(IBufferWriter<byte> output, ReadOnlySpan<byte> cuts)
    {
        var reader = new ValueReader(cuts);
        if (!reader.TryReadValue(out var map) || map.Tag != ValueTag.Map)
        {
            return false;
        }

        for (var i = 0; i < map.Count; i++)
        {
            if (!reader.TryReadString(out var reason) || !reader.TryReadValue(out var count) || count.Tag != ValueTag.Integer)
            {
                return false;
            }

            if (i > 0)
            {
                output.Write(","u8);
            }

            output.Write(reason);
            output.Write(":"u8);
            var digits = output.GetSpan(24);
            Utf8Formatter.TryFormat(count.Integer, digits, out var written);
            output.Advance(written);
        }

        return true;
    }
}
