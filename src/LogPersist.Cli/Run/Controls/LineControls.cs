using System.Text.Json;
using System.Text.RegularExpressions;

namespace LogPersist.Cli.Run.Controls;

/// <summary>
/// What <c>logpersist run</c> does to each line before the WAL: lines a <see cref="Drops"/> pattern
/// matches are dropped; what a <see cref="Redactions"/> pattern matches is replaced (the secret's
/// bytes never reach the disk); a line whose level has a rate in <see cref="SampleRates"/> is kept
/// with that probability. Immutable: a reload makes a new one.
/// </summary>
internal sealed class LineControls
{
    /// <summary>What a redaction writes when it names no replacement.</summary>
    public const string DefaultReplacement = "[REDACTED]";

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    public static readonly LineControls None = new(new Dictionary<EntryLevel, double>(), [], [], null);

    public LineControls(IReadOnlyDictionary<EntryLevel, double> sampleRates, IReadOnlyList<Regex> drops, IReadOnlyList<(Regex Pattern, string Replacement)> redactions, Regex? levelPattern)
    {
        SampleRates = sampleRates;
        Drops = drops;
        Redactions = redactions;
        LevelPattern = levelPattern;
        IsEmpty = sampleRates.Count == 0 && drops.Count == 0 && redactions.Count == 0 && levelPattern is null;
    }

    /// <summary>The share of lines kept, per level (0 to 1); a level not named keeps every line.</summary>
    public IReadOnlyDictionary<EntryLevel, double> SampleRates { get; }

    public IReadOnlyList<Regex> Drops { get; }

    public IReadOnlyList<(Regex Pattern, string Replacement)> Redactions { get; }

    /// <summary>A pattern whose group <c>level</c> names a text line's level, tried before the built-in formats.</summary>
    public Regex? LevelPattern { get; }

    /// <summary>True when no line is ever dropped, changed or sampled and no pattern gives levels: lines go to the WAL as they are.</summary>
    public bool IsEmpty { get; }

    /// <summary>
    /// Builds the controls from <c>--sample LEVEL=RATE</c>, <c>--drop REGEX</c>, <c>--redact REGEX[=REPLACEMENT]</c>
    /// and <c>--level-pattern REGEX</c> values. Throws <see cref="UsageException"/> listing every problem.
    /// </summary>
    public static LineControls Parse(IEnumerable<string> samples, IEnumerable<string> drops, IEnumerable<string> redactions, string? levelPattern)
    {
        var problems = new List<string>();
        var rates = new Dictionary<EntryLevel, double>();
        foreach (var sample in samples)
        {
            var equals = sample.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                problems.Add($"--sample takes LEVEL=RATE, not '{sample}'");
                continue;
            }

            AddRate(rates, sample[..equals], sample[(equals + 1)..], problems);
        }

        var controls = Build(rates, drops.ToList(), redactions.Select(SplitRedaction).ToList(), levelPattern, problems);
        return problems.Count == 0 ? controls : throw new UsageException("logpersist run: " + string.Join("; ", problems) + ".");
    }

    /// <summary>
    /// Reads the line controls of a <c>--config</c> file's JSON object: <c>sample</c> (an object of
    /// level to rate), <c>drop</c> (an array of patterns), <c>redact</c> (an array of patterns, or of
    /// objects with <c>pattern</c> and <c>replacement</c>) and <c>levelPattern</c>. Every problem is added to
    /// <paramref name="problems"/>.
    /// </summary>
    public static LineControls FromJson(JsonElement root, List<string> problems)
    {
        var rates = new Dictionary<EntryLevel, double>();
        if (root.TryGetProperty("sample", out var sample))
        {
            if (sample.ValueKind != JsonValueKind.Object)
            {
                problems.Add("'sample' must be an object of level to rate");
            }
            else
            {
                foreach (var rate in sample.EnumerateObject())
                {
                    AddRate(rates, rate.Name, rate.Value.ValueKind == JsonValueKind.Number ? rate.Value.GetRawText() : "not a number", problems);
                }
            }
        }

        var drops = Strings(root, "drop", problems);
        var redactions = new List<(string, string?)>();
        if (root.TryGetProperty("redact", out var redact))
        {
            if (redact.ValueKind != JsonValueKind.Array)
            {
                problems.Add("'redact' must be an array");
            }
            else
            {
                foreach (var item in redact.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        redactions.Add((item.GetString()!, null));
                    }
                    else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.String)
                    {
                        redactions.Add((pattern.GetString()!, item.TryGetProperty("replacement", out var replacement) && replacement.ValueKind == JsonValueKind.String ? replacement.GetString() : null));
                    }
                    else
                    {
                        problems.Add("each 'redact' item must be a pattern or an object with a string 'pattern'");
                    }
                }
            }
        }

        string? levelPattern = null;
        if (root.TryGetProperty("levelPattern", out var level))
        {
            if (level.ValueKind == JsonValueKind.String)
            {
                levelPattern = level.GetString();
            }
            else
            {
                problems.Add("'levelPattern' must be a string");
            }
        }

        return Build(rates, drops, redactions, levelPattern, problems);
    }

    /// <summary>The strings of the array property <paramref name="name"/>, if present.</summary>
    public static List<string> Strings(JsonElement root, string name, List<string> problems)
    {
        var strings = new List<string>();
        if (!root.TryGetProperty(name, out var array))
        {
            return strings;
        }

        if (array.ValueKind != JsonValueKind.Array || array.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
        {
            problems.Add($"'{name}' must be an array of strings");
            return strings;
        }

        strings.AddRange(array.EnumerateArray().Select(i => i.GetString()!));
        return strings;
    }

    /// <summary>
    /// <c>REGEX[=REPLACEMENT]</c>: the replacement follows the first <c>=</c> that is not escaped; a
    /// pattern that must match <c>=</c> writes it <c>\=</c> (a valid escape in .NET patterns).
    /// </summary>
    private static (string Pattern, string? Replacement) SplitRedaction(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '=')
            {
                return (text[..i], text[(i + 1)..]);
            }
        }

        return (text, null);
    }

    private static void AddRate(Dictionary<EntryLevel, double> rates, string levelName, string rateText, List<string> problems)
    {
        if (JsonLine.Level(levelName) is not { } level)
        {
            problems.Add($"'{levelName}' is not a level (trace, debug, info, warn, error, critical)");
        }
        else if (!double.TryParse(rateText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var rate) || rate is < 0 or > 1 || double.IsNaN(rate))
        {
            problems.Add($"the rate of {levelName} must be a number from 0 to 1, not '{rateText}'");
        }
        else
        {
            rates[level] = rate;
        }
    }

    private static LineControls Build(Dictionary<EntryLevel, double> rates, List<string> drops, List<(string Pattern, string? Replacement)> redactions, string? levelPattern, List<string> problems)
    {
        var dropPatterns = drops.Select(d => Compile(d, "--drop", problems)).OfType<Regex>().ToList();
        var redactPatterns = new List<(Regex, string)>();
        foreach (var (pattern, replacement) in redactions)
        {
            if (Compile(pattern, "--redact", problems) is { } regex)
            {
                redactPatterns.Add((regex, replacement ?? DefaultReplacement));
            }
        }

        Regex? level = null;
        if (levelPattern is not null && Compile(levelPattern, "--level-pattern", problems) is { } compiled)
        {
            if (Array.IndexOf(compiled.GetGroupNames(), "level") < 0)
            {
                problems.Add($"--level-pattern '{levelPattern}' has no group named 'level'");
            }
            else
            {
                level = compiled;
            }
        }

        return new LineControls(rates, dropPatterns, redactPatterns, level);
    }

    private static Regex? Compile(string pattern, string option, List<string> problems)
    {
        if (pattern.Length == 0)
        {
            problems.Add($"{option} needs a pattern");
            return null;
        }

        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            problems.Add($"{option} '{pattern}': {e.Message}");
            return null;
        }
    }
}
