namespace LogPersist.Cli.Reading;

/// <summary>Which lines <c>tail</c> prints: a minimum level and a case-sensitive substring of the printed line.</summary>
internal sealed record LineFilter(EntryLevel MinimumLevel, string? Grep)
{
    public bool Matches(in EntryLine line) =>
        line.Level >= MinimumLevel && (Grep is null || line.Text.Contains(Grep, StringComparison.Ordinal));

    /// <summary>Parses a level name as the logging frameworks spell them; anything else is a usage error.</summary>
    public static EntryLevel ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "trace" or "verbose" => EntryLevel.Trace,
        "debug" => EntryLevel.Debug,
        "info" or "information" => EntryLevel.Information,
        "warn" or "warning" => EntryLevel.Warning,
        "error" => EntryLevel.Error,
        "critical" or "fatal" => EntryLevel.Critical,
        _ => throw new UsageException($"--level '{text}' is not a level: use trace, debug, info, warn, error or critical."),
    };

    /// <summary>The line format a format name on the command line means (<c>jsonl</c> is JSON, one entry a line).</summary>
    public static LineFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "json" or "jsonl" => LineFormat.Json,
        "logfmt" => LineFormat.Logfmt,
        "text" => LineFormat.Text,
        _ => throw new UsageException($"--format '{text}' is not a line format."),
    };
}
