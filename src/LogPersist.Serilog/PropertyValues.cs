using System.Globalization;
using LogPersist.Entries;
using Serilog.Events;

namespace LogPersist.Serilog;

/// <summary>
/// Turns Serilog's captured property values into the values <see cref="EntryEncoder"/> stores, keeping
/// their shape: a scalar is its value, a structure a <see cref="LogStructure"/> with its type tag, a
/// sequence a list, a dictionary a map keyed by the keys' invariant text.
/// </summary>
internal static class PropertyValues
{
    // Converted no further than the encoder writes: it keeps MaxItems items and marks the cut after them.
    private const int MaxItems = EntryLimits.MaxItems + 1;

    // Stands for a value nested deeper than the encoder goes: it marks it as too deep and counts it.
    private static readonly LogStructure TooDeep = new(null, []);

    public static object? ToEntryValue(LogEventPropertyValue? value, int depth = 0)
    {
        if (value is ScalarValue scalar)
        {
            return scalar.Value;
        }

        if (value is null)
        {
            return null;
        }

        if (depth >= EntryFormat.MaxDepth && value is StructureValue or SequenceValue or DictionaryValue)
        {
            return TooDeep;
        }

        switch (value)
        {
            case StructureValue structure:
                var properties = new KeyValuePair<string, object?>[Math.Min(structure.Properties.Count, MaxItems)];
                for (var i = 0; i < properties.Length; i++)
                {
                    var property = structure.Properties[i];
                    properties[i] = new(property.Name, ToEntryValue(property.Value, depth + 1));
                }

                return new LogStructure(structure.TypeTag, properties);
            case SequenceValue sequence:
                var count = Math.Min(sequence.Elements.Count, MaxItems);
                var items = new List<object?>(count);
                for (var i = 0; i < count; i++)
                {
                    items.Add(ToEntryValue(sequence.Elements[i], depth + 1));
                }

                return items;
            case DictionaryValue dictionary:
                var pairs = new List<KeyValuePair<string, object?>>(Math.Min(dictionary.Elements.Count, MaxItems));
                foreach (var (key, item) in dictionary.Elements)
                {
                    if (pairs.Count == MaxItems)
                    {
                        break;
                    }

                    pairs.Add(new(Key(key), ToEntryValue(item, depth + 1)));
                }

                return pairs;
            default:
                return Rendered(value);
        }
    }

    /// <summary>A dictionary key as text, the way Serilog's JSON formatter names it (<c>null</c> for a null key).</summary>
    private static string Key(ScalarValue key) => key.Value is null ? "null" : EntryEncoder.SafeToString(key.Value);

    private static string Rendered(LogEventPropertyValue value)
    {
        try
        {
            return value.ToString(null, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            return "<" + e.GetType().Name + " from ToString>";
        }
    }
}
