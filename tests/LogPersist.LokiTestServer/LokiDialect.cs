using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The Loki release whose push answers the server gives: its texts, statuses and order of checks, read from that
/// release's source. Use the presets (<see cref="V2"/>, <see cref="V2_9"/>, <see cref="V3"/>, <see cref="V3_7"/>) or
/// <see cref="Of"/> for another minor release from 2.7 to 3.7.
/// </summary>
public sealed record LokiDialect
{
    private LokiDialect(int major, int minor)
    {
        Major = major;
        Minor = minor;
    }

    /// <summary>Loki 2.7 (2.7.7): the last validation error alone, one ingester line per refused entry naming the stream, no 260, no 422, 30 label names.</summary>
    public static LokiDialect V2 { get; } = new(2, 7);

    /// <summary>Loki 2.9 (2.9.0): grouped validation errors, the whole request refused for an unparsable label set, structured metadata known.</summary>
    public static LokiDialect V2_9 { get; } = new(2, 9);

    /// <summary>
    /// Loki 3.x before 3.7, answered as 3.6 does: grouped errors with lowercase texts, 260 while blocked, 422 for zero streams,
    /// <c>service_name</c> discovery, 15 label names. Use <see cref="Of"/> for an earlier 3.x.
    /// </summary>
    public static LokiDialect V3 { get; } = new(3, 6);

    /// <summary>Loki 3.7 (3.7.6): as <see cref="V3"/>, and duplicates are compared with their structured metadata too.</summary>
    public static LokiDialect V3_7 { get; } = new(3, 7);

    /// <summary>The major version, 2 or 3.</summary>
    public int Major { get; }

    /// <summary>The minor version.</summary>
    public int Minor { get; }

    /// <summary>The dialect of Loki <paramref name="major"/>.<paramref name="minor"/>, from 2.7 to 3.7.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The release is outside 2.7–2.9 and 3.0–3.7.</exception>
    public static LokiDialect Of(int major, int minor)
    {
        if (!IsKnown(major, minor))
        {
            throw new ArgumentOutOfRangeException(nameof(minor), $"{major}.{minor} is not a Loki release this server knows (2.7 to 2.9, 3.0 to 3.7).");
        }

        return new LokiDialect(major, minor);
    }

    /// <summary>Parses <c>2</c> (2.7), <c>3</c> (3.6) or a release such as <c>2.9</c> or <c>3.7</c>.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out LokiDialect? dialect)
    {
        dialect = text switch
        {
            "2" => V2,
            "3" => V3,
            _ => null,
        };
        if (dialect is not null)
        {
            return true;
        }

        var parts = (text ?? "").Split('.');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            && IsKnown(major, minor))
        {
            dialect = new LokiDialect(major, minor);
            return true;
        }

        return false;
    }

    /// <summary>"3.6".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}");

    /// <summary>True when this release is <paramref name="major"/>.<paramref name="minor"/> or later.</summary>
    internal bool AtLeast(int major, int minor) => Major > major || (Major == major && Minor >= minor);

    private static bool IsKnown(int major, int minor) => (major == 2 && minor is >= 7 and <= 9) || (major == 3 && minor is >= 0 and <= 7);
}
