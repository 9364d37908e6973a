using System.Text;
using System.Text.RegularExpressions;

namespace LogPersist.Tests.Docs;

/// <summary>
/// What the docs tests need from a Markdown file: its text outside code fences and inline code, its
/// links, and the anchors GitHub gives its headings.
/// </summary>
internal static partial class Markdown
{
    /// <summary>The lines outside fenced code blocks (``` or ~~~), with inline code spans removed, numbered from 1.</summary>
    public static IEnumerable<(int Number, string Text)> ProseLines(string markdown)
    {
        var fence = (string?)null;
        var number = 0;
        foreach (var line in markdown.Split('\n'))
        {
            number++;
            var trimmed = line.TrimStart();
            if (fence is null && (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal)))
            {
                fence = trimmed[..3];
                continue;
            }

            if (fence is not null)
            {
                if (trimmed.StartsWith(fence, StringComparison.Ordinal))
                {
                    fence = null;
                }

                continue;
            }

            yield return (number, InlineCode().Replace(line, ""));
        }
    }

    /// <summary>The targets of <c>[text](target)</c> and <c>![alt](target)</c> links outside code.</summary>
    public static IEnumerable<(int Line, string Target)> Links(string markdown) =>
        from line in ProseLines(markdown)
        from Match match in Link().Matches(line.Text)
        select (line.Number, match.Groups["target"].Value);

    /// <summary>
    /// The anchors of the headings (ATX, <c>#</c> to <c>######</c>), as GitHub makes them: the heading's
    /// text (a link's text, not its target) in lower case, every character that is not a letter, a mark,
    /// a number, a connector, a space or a hyphen removed, spaces turned into hyphens; a repeated anchor
    /// gets <c>-1</c>, <c>-2</c>, … in order.
    /// </summary>
    public static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var fence = (string?)null;
        foreach (var line in markdown.Split('\n'))
        {
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
            {
                fence = fence is null ? trimmed[..3] : trimmed.StartsWith(fence, StringComparison.Ordinal) ? null : fence;
                continue;
            }

            if (fence is null && Heading().Match(line) is { Success: true } heading)
            {
                var slug = Slug(heading.Groups["text"].Value);
                var count = seen.GetValueOrDefault(slug);
                seen[slug] = count + 1;
                anchors.Add(count == 0 ? slug : $"{slug}-{count}");
            }
        }

        return anchors;
    }

    public static string Slug(string heading)
    {
        var text = Link().Replace(heading.Trim().TrimEnd('#').Trim(), m => m.Groups["text"].Value);
        var slug = new StringBuilder(text.Length);
        foreach (var c in text.ToLowerInvariant())
        {
            if (c == ' ')
            {
                slug.Append('-');
            }
            else if (c == '-' || char.IsLetterOrDigit(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark
                or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.EnclosingMark
                or System.Globalization.UnicodeCategory.ConnectorPunctuation or System.Globalization.UnicodeCategory.LetterNumber
                or System.Globalization.UnicodeCategory.OtherNumber)
            {
                slug.Append(c);
            }
        }

        return slug.ToString();
    }

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"!?\[(?<text>[^\]]*)\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+)$")]
    private static partial Regex Heading();
}
