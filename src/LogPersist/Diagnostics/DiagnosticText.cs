using System.Text.RegularExpressions;

namespace LogPersist.Diagnostics;

/// <summary>Makes text from Loki or from faults fit for health reports and self-diagnostics: short, and with no credentials.</summary>
internal static partial class DiagnosticText
{
    public const int MaxLength = 300;

    /// <summary>Hides user info in URLs and values after <c>Bearer</c>/<c>Basic</c>/<c>password=</c>/<c>token=</c>, and cuts the text at <see cref="MaxLength"/> characters.</summary>
    public static string? Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var scrubbed = UserInfo().Replace(text, "://***@");
        scrubbed = Secret().Replace(scrubbed, m => m.Groups[1].Value + "***");
        return scrubbed.Length <= MaxLength ? scrubbed : scrubbed[..MaxLength] + "…";
    }

    [GeneratedRegex(@"://[^/@\s]+@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();

    [GeneratedRegex(@"(\b(?:bearer|basic)\s+|\b(?:password|passwd|pwd|token|secret|api[_-]?key)\s*[=:]\s*)[^\s,;""']+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Secret();
}
