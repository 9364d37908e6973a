using System.CommandLine.Parsing;
using System.Globalization;

namespace LogPersist.Cli;

/// <summary>Parses durations written as <c>500ms</c>, <c>90s</c> (or <c>90</c>), <c>10m</c>, <c>2h</c> or <c>hh:mm:ss</c>.</summary>
internal static class Durations
{
    /// <summary>The longest duration accepted (timers cannot wait longer than about 49 days).</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(30);

    public static TimeSpan? Parse(string text, ArgumentResult result)
    {
        if (TryParse(text, out var value) && value <= Max)
        {
            return value;
        }

        result.AddError($"'{text}' is not a duration of at most 30 days; write e.g. 500ms, 90s, 10m, 2h or 00:10:00.");
        return null;
    }

    public static bool TryParse(string text, out TimeSpan value)
    {
        text = text.Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number >= 0
                && number * seconds <= Max.TotalSeconds)
            {
                value = TimeSpan.FromSeconds(number * seconds);
                return true;
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && plain >= 0 && plain <= Max.TotalSeconds)
        {
            value = TimeSpan.FromSeconds(plain);
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
    }
}
