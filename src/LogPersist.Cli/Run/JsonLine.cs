using System.Text.Json;

namespace LogPersist.Cli.Run;

/// <summary>
/// Reads a line that is one JSON object (what structured loggers in Python, Java or Go print): the
/// message from <c>msg</c> or <c>message</c>, the level from <c>level</c>, <c>severity</c> or
/// <c>levelname</c>, every other field a property. Anything else — an array, a number, a truncated or
/// invalid object, trailing text — is not a JSON line and stays plain text.
/// </summary>
internal static class JsonLine
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>The parts of a JSON object line. <see cref="Level"/> is null when the line names none we know.</summary>
    internal sealed record Parsed(string Message, EntryLevel? Level, List<KeyValuePair<string, object?>> Properties);

    public static bool TryParse(ReadOnlySpan<byte> line, out Parsed? parsed)
    {
        parsed = null;
        var first = line.IndexOfAnyExcept(" \t"u8);
        if (first < 0 || line[first] != (byte)'{')
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            reader.Read();
            var fields = ReadObject(ref reader);
            if (reader.Read())
            {
                return false;
            }

            string? message = null;
            EntryLevel? level = null;
            var properties = new List<KeyValuePair<string, object?>>(fields.Count);
            foreach (var field in fields)
            {
                if (message is null && field.Value is string text && IsMessageField(field.Key))
                {
                    message = text;
                }
                else if (level is null && IsLevelField(field.Key) && Level(field.Value) is { } known)
                {
                    level = known;
                }
                else
                {
                    properties.Add(field);
                }
            }

            parsed = new Parsed(message ?? "", level, properties);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Malformed JSON or invalid UTF-8 inside a string: the line is kept as plain text instead.
            return false;
        }
    }

    /// <summary>Common level names (case-insensitive) and the numeric levels of pino and bunyan (10–60).</summary>
    internal static EntryLevel? Level(object? value) => value switch
    {
        string name => name.Trim().ToUpperInvariant() switch
        {
            "TRACE" or "VERBOSE" or "FINEST" or "FINER" => EntryLevel.Trace,
            "DEBUG" or "FINE" => EntryLevel.Debug,
            "INFO" or "INFORMATION" or "NOTICE" => EntryLevel.Information,
            "WARN" or "WARNING" => EntryLevel.Warning,
            "ERROR" or "ERR" or "SEVERE" => EntryLevel.Error,
            "CRITICAL" or "CRIT" or "FATAL" or "PANIC" or "ALERT" or "EMERGENCY" or "EMERG" => EntryLevel.Critical,
            _ => null,
        },
        long number => number switch
        {
            10 => EntryLevel.Trace,
            20 => EntryLevel.Debug,
            30 => EntryLevel.Information,
            40 => EntryLevel.Warning,
            50 => EntryLevel.Error,
            60 => EntryLevel.Critical,
            _ => null,
        },
        _ => null,
    };

    private static bool IsMessageField(string name) =>
        name.Equals("msg", StringComparison.OrdinalIgnoreCase) || name.Equals("message", StringComparison.OrdinalIgnoreCase);

    private static bool IsLevelField(string name) =>
        name.Equals("level", StringComparison.OrdinalIgnoreCase)
        || name.Equals("severity", StringComparison.OrdinalIgnoreCase)
        || name.Equals("levelname", StringComparison.OrdinalIgnoreCase);

    private static List<KeyValuePair<string, object?>> ReadObject(ref Utf8JsonReader reader)
    {
        var fields = new List<KeyValuePair<string, object?>>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            fields.Add(new(name, ReadValue(ref reader)));
        }

        return fields;
    }

    private static object? ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var integer))
                {
                    return integer;
                }

                return reader.TryGetDecimal(out var exact) ? exact : reader.GetDouble();
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            case JsonTokenType.StartObject:
                return ReadObject(ref reader);
            case JsonTokenType.StartArray:
                var items = new List<object?>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadValue(ref reader));
                }

                return items;
            default:
                return null;
        }
    }
}
