using System.Globalization;
using System.Text;
using System.Text.Unicode;
using LogPersist.Entries;
using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>
/// Chooses which of an entry's properties travel as Loki structured metadata instead of in the line
/// (<see cref="LogPersistOptions.MetadataProperties"/>): top-level properties named in the allow-list
/// (<c>*</c> names them all) whose value is a scalar. Names are sanitised as Loki 3 normalises them;
/// a property whose name is taken (trace and span ids, the adopter's metadata, an earlier property),
/// whose value is not valid UTF-8, or that would take the entry past Loki's metadata limits
/// (<see cref="MaxEntries"/>, <see cref="MaxBytes"/>) stays in the line. The choice depends on the
/// entry alone, so a resend carries exactly the metadata of the first send.
/// </summary>
internal sealed class PropertyMetadata
{
    /// <summary>Loki 3's default <c>max_structured_metadata_entries_count</c>.</summary>
    public const int MaxEntries = 128;

    /// <summary>Loki 3's default <c>max_structured_metadata_size</c>: names and values of one entry, in bytes.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The allow-list entry that names every property.</summary>
    public const string All = "*";

    private readonly byte[][] _names;
    private readonly bool _all;

    public PropertyMetadata(IReadOnlyList<string> names)
    {
        _all = names.Contains(All);
        _names = [.. names.Where(n => n != All && n.Length > 0).Select(Encoding.UTF8.GetBytes)];
    }

    public bool IsEmpty => !_all && _names.Length == 0;

    /// <summary>
    /// Adds the chosen properties of <paramref name="entry"/> to <paramref name="chosen"/>, after the
    /// <paramref name="already"/> metadata the entry carries; returns their property indexes as a mask
    /// for <see cref="LineFormatter.Format"/> (only the first 64 properties can be chosen).
    /// </summary>
    public ulong Choose(in EntryView entry, IReadOnlyList<KeyValuePair<string, string>>? already, List<KeyValuePair<string, string>> chosen)
    {
        var count = already?.Count ?? 0;
        var bytes = 0;
        foreach (var (name, value) in already ?? [])
        {
            bytes += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
        }

        ulong mask = 0;
        var reader = entry.PropertyReader();
        for (var i = 0; i < entry.PropertyCount && i < 64; i++)
        {
            if (!reader.TryReadName(out var rawName) || !reader.TryReadValue(out var value))
            {
                break;
            }

            if (Allowed(rawName) && Scalar(value) is { } text && Utf8.IsValid(rawName))
            {
                var name = LabelSet.SanitizeName(Encoding.UTF8.GetString(rawName));
                var size = Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(text);
                if (name.Length > 0 && count < MaxEntries && bytes + size <= MaxBytes && !Taken(name, already, chosen))
                {
                    chosen.Add(new(name, text));
                    mask |= 1UL << i;
                    count++;
                    bytes += size;
                }
            }

            if (!reader.TrySkipItems(value))
            {
                break;
            }
        }

        return mask;
    }

    private bool Allowed(ReadOnlySpan<byte> name)
    {
        if (_all)
        {
            return true;
        }

        foreach (var allowed in _names)
        {
            if (name.SequenceEqual(allowed))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Taken(string name, IReadOnlyList<KeyValuePair<string, string>>? already, List<KeyValuePair<string, string>> chosen)
    {
        foreach (var pair in already ?? [])
        {
            if (pair.Key == name)
            {
                return true;
            }
        }

        foreach (var pair in chosen)
        {
            if (pair.Key == name)
            {
                return true;
            }
        }

        return name is "trace_id" or "span_id";
    }

    /// <summary>The text of a scalar value as the line would show it; null for anything else (sequences, maps, null, bytes that are not UTF-8).</summary>
    private static string? Scalar(in ValueToken value) => value.Tag switch
    {
        ValueTag.String or ValueTag.Number when Utf8.IsValid(value.Text) => Encoding.UTF8.GetString(value.Text),
        ValueTag.Integer => value.Integer.ToString(CultureInfo.InvariantCulture),
        ValueTag.Unsigned => value.Unsigned.ToString(CultureInfo.InvariantCulture),
        ValueTag.Double => value.Double.ToString("R", CultureInfo.InvariantCulture),
        ValueTag.True => "true",
        ValueTag.False => "false",
        _ => null,
    };
}
