namespace LogPersist.Cli.Run;

/// <summary>
/// The level a plain text line gives itself in one of the formats the programs <c>run</c> wraps print
/// by default; null for any other line (it is then Information). Each format is matched exactly at the
/// start of the line, so a message that merely contains a level word is not taken for one:
/// <list type="bullet">
/// <item>glog (C++ services, Ray's raylet and GCS): <c>I1204 01:02:03.123456 …</c>, with I, W, E, F.</item>
/// <item>Ray's C++ log line: <c>[2026-12-04 01:02:03,123 I 1234 5678] …</c>, with T, D, I, W, E, C.</item>
/// <item>Python's <c>logging.basicConfig()</c> default: <c>WARNING:root:…</c>.</item>
/// <item>A date and time, then the level name: Ray's Python logs (<c>2026-12-04 01:02:03,123\tINFO worker.py:…</c>),
/// and Python's <c>%(asctime)s %(levelname)s</c> or <c>%(asctime)s - %(levelname)s</c>.</item>
/// </list>
/// </summary>
internal static class TextLevels
{
    public static EntryLevel? Of(ReadOnlySpan<byte> line)
    {
        if (line.Length < 6)
        {
            return null;
        }

        return Glog(line) ?? RayNative(line) ?? PythonDefault(line) ?? AfterTimestamp(line);
    }

    /// <summary><c>Lmmdd hh:mm:ss</c>.</summary>
    private static EntryLevel? Glog(ReadOnlySpan<byte> line)
    {
        if (line.Length < 14 || !Digits(line.Slice(1, 4)) || line[5] != ' ' || !Time(line.Slice(6, 8)))
        {
            return null;
        }

        return line[0] switch
        {
            (byte)'I' => EntryLevel.Information,
            (byte)'W' => EntryLevel.Warning,
            (byte)'E' => EntryLevel.Error,
            (byte)'F' => EntryLevel.Critical,
            _ => null,
        };
    }

    /// <summary><c>[yyyy-mm-dd hh:mm:ss,mmm L </c>.</summary>
    private static EntryLevel? RayNative(ReadOnlySpan<byte> line)
    {
        if (line.Length < 27 || line[0] != '[' || !Timestamp(line[1..]) || line[24] != ' ' || line[26] != ' ')
        {
            return null;
        }

        return line[25] switch
        {
            (byte)'T' => EntryLevel.Trace,
            (byte)'D' => EntryLevel.Debug,
            (byte)'I' => EntryLevel.Information,
            (byte)'W' => EntryLevel.Warning,
            (byte)'E' => EntryLevel.Error,
            (byte)'C' => EntryLevel.Critical,
            _ => null,
        };
    }

    /// <summary><c>LEVEL:</c> at the very start.</summary>
    private static EntryLevel? PythonDefault(ReadOnlySpan<byte> line) =>
        LevelName(line, out var length) is { } level && line.Length > length && line[length] == ':' ? level : null;

    /// <summary><c>yyyy-mm-dd hh:mm:ss[,.]mmm</c>, then tabs, spaces or a dash, then a level name and a space or colon.</summary>
    private static EntryLevel? AfterTimestamp(ReadOnlySpan<byte> line)
    {
        if (line.Length < 25 || !Timestamp(line))
        {
            return null;
        }

        var rest = line[23..];
        var skip = rest.IndexOfAnyExcept(" \t-"u8);
        if (skip is <= 0 or > 4)
        {
            return null;
        }

        rest = rest[skip..];
        return LevelName(rest, out var length) is { } level && rest.Length > length && rest[length] is (byte)' ' or (byte)':' or (byte)'\t' ? level : null;
    }

    /// <summary>One of Python's level names (and WARN, FATAL) at the start of <paramref name="text"/>.</summary>
    private static EntryLevel? LevelName(ReadOnlySpan<byte> text, out int length)
    {
        foreach (var (name, level) in Names)
        {
            if (text.StartsWith(name))
            {
                length = name.Length;
                return level;
            }
        }

        length = 0;
        return null;
    }

    private static readonly (byte[] Name, EntryLevel Level)[] Names =
    [
        ("DEBUG"u8.ToArray(), EntryLevel.Debug),
        ("INFO"u8.ToArray(), EntryLevel.Information),
        ("WARNING"u8.ToArray(), EntryLevel.Warning),
        ("WARN"u8.ToArray(), EntryLevel.Warning),
        ("ERROR"u8.ToArray(), EntryLevel.Error),
        ("CRITICAL"u8.ToArray(), EntryLevel.Critical),
        ("FATAL"u8.ToArray(), EntryLevel.Critical),
    ];

    /// <summary><c>yyyy-mm-dd hh:mm:ss[,.]mmm</c>: 23 bytes.</summary>
    private static bool Timestamp(ReadOnlySpan<byte> text) =>
        text.Length >= 23
        && Digits(text[..4]) && text[4] == '-' && Digits(text.Slice(5, 2)) && text[7] == '-' && Digits(text.Slice(8, 2))
        && text[10] == ' ' && Time(text.Slice(11, 8)) && text[19] is (byte)',' or (byte)'.' && Digits(text.Slice(20, 3));

    /// <summary><c>hh:mm:ss</c>.</summary>
    private static bool Time(ReadOnlySpan<byte> text) =>
        Digits(text[..2]) && text[2] == ':' && Digits(text.Slice(3, 2)) && text[5] == ':' && Digits(text.Slice(6, 2));

    private static bool Digits(ReadOnlySpan<byte> text) => text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;
}
