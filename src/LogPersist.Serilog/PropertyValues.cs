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

        if (depth >= EntryFormat.MaxDepth)
        {
            return Rendered(value);
        }

        switch (value)
        {
            case StructureValue structure:
                var properties = new KeyValuePair<string, object?>[structure.Properties.Count];
                for (var i = 0; i < properties.Length; i++)
                {
                    var property = structure.Properties[i];
                    properties[i] = new(property.Name, ToEntryValue(property.Value, depth + 1));
                }

                return new LogStructure(structure.TypeTag, properties);
            case SequenceValue sequence:
                var items = new List<object?>(sequence.Elements.Count);
                foreach (var element in sequence.Elements)
                {
                    items.Add(ToEntryValue(element, depth + 1));
                }

                return items;
            case DictionaryValue dictionary:
                var pairs = new List<KeyValuePair<string, object?>>(dictionary.Elements.Count);
                foreach (var (key, item) in dictionary.Elements)
                {
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
