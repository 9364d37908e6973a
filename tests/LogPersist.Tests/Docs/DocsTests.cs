using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using LogPersist.Cli;

namespace LogPersist.Tests.Docs;

/// <summary>
/// The README and docs/ stay true to the code: every public option is documented, every CLI command
/// and flag too, and every relative link (and its anchor) leads somewhere.
/// </summary>
public sealed partial class DocsTests
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    [Fact]
    public void Every_public_option_is_in_the_configuration_page()
    {
        var page = Read("docs/configuration.md");
        var options = typeof(LogPersistOptions)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)
            .ToList();

        Assert.NotEmpty(options);
        var missing = options.Where(name => !page.Contains($"`{name}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md does not name these options of LogPersistOptions: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_resolves()
    {
        var problems = new List<string>();
        foreach (var file in DocumentFiles())
        {
            var text = Read(file);
            foreach (var (line, target) in Markdown.Links(text))
            {
                if (Scheme().IsMatch(target))
                {
                    continue;
                }

                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var path = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var resolved = path.Length == 0
                    ? Path.Combine(s_root.Value, file)
                    : Path.GetFullPath(Path.Combine(s_root.Value, Path.GetDirectoryName(file)!, Uri.UnescapeDataString(path)));

                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    problems.Add($"{file}:{line}: '{target}' leads to no file");
                }
                else if (anchor is { Length: > 0 } && resolved.EndsWith(".md", StringComparison.OrdinalIgnoreCase)
                    && !Markdown.Anchors(File.ReadAllText(resolved)).Contains(anchor))
                {
                    problems.Add($"{file}:{line}: '{target}' names no heading of {Path.GetRelativePath(s_root.Value, resolved)}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_command_and_option_of_the_tool_is_in_the_operations_page()
    {
        var page = Read("docs/operations.md");
        var root = CliApp.Build(CliContext.ForWriters(TextWriter.Null, TextWriter.Null));
        var missing = new List<string>();
        Walk(root, path: "logpersist");
        Assert.True(missing.Count == 0, $"docs/operations.md does not name: {string.Join(", ", missing)}");

        void Walk(Command command, string path)
        {
            foreach (var option in command.Options.Where(o => !o.Hidden))
            {
                if (!Names(page, option.Name))
                {
                    missing.Add($"{path} {option.Name}");
                }
            }

            foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
            {
                if (!page.Contains($"`{sub.Name} ", StringComparison.Ordinal) && !page.Contains($"logpersist {sub.Name}", StringComparison.Ordinal))
                {
                    missing.Add($"{path} {sub.Name}");
                }

                Walk(sub, $"{path} {sub.Name}");
            }
        }
    }

    [Fact]
    public void Drain_help_says_the_directory_is_removed()
    {
        var root = CliApp.Build(CliContext.ForWriters(TextWriter.Null, TextWriter.Null));
        var drain = root.Subcommands.Single(c => c.Name == "drain");

        Assert.Contains("remove the directory", drain.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("delete the shipped segments", drain.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_file_help_says_the_variable_holds_the_password_itself()
    {
        var root = CliApp.Build(CliContext.ForWriters(TextWriter.Null, TextWriter.Null));
        var option = root.Subcommands.Single(c => c.Name == "drain").Options.Single(o => o.Name == "--password-file");

        Assert.Contains("the password itself is read from $LOKI_PASSWORD", option.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Options", "options")]
    [InlineData("`logpersist drain` — ship a WAL whose process is gone", "logpersist-drain--ship-a-wal-whose-process-is-gone")]
    [InlineData("Keeping what matters: sampling, dropping and redaction before the WAL (`--sample`, `--drop`, `--redact`, `--config`)", "keeping-what-matters-sampling-dropping-and-redaction-before-the-wal---sample---drop---redact---config")]
    [InlineData("Adoption: how a gone pod's WAL is found and shipped once", "adoption-how-a-gone-pods-wal-is-found-and-shipped-once")]
    [InlineData("A complete program: Microsoft.Extensions.Logging", "a-complete-program-microsoftextensionslogging")]
    [InlineData("[Linked](https://example.com) heading_x", "linked-heading_x")]
    public void Anchors_follow_GitHubs_rule(string heading, string anchor) =>
        Assert.Equal(anchor, Markdown.Slug(heading));

    [Fact]
    public void A_repeated_heading_gets_a_numbered_anchor_and_code_is_not_a_heading()
    {
        var anchors = Markdown.Anchors("# Title\n## Metrics\n```\n# not a heading\n```\n## Metrics\n");

        Assert.True(anchors.SetEquals(["title", "metrics", "metrics-1"]), string.Join(", ", anchors));
    }

    /// <summary>Whether <paramref name="page"/> names <paramref name="option"/> as a whole word (<c>-n</c> is not found inside <c>--lines</c>).</summary>
    private static bool Names(string page, string option) =>
        Regex.IsMatch(page, $@"(?<![\w-]){Regex.Escape(option)}(?![\w-])");

    private static IEnumerable<string> DocumentFiles() =>
        new[] { "README.md" }.Concat(
            Directory.EnumerateFiles(Path.Combine(s_root.Value, "docs"), "*.md")
                .Select(f => Path.GetRelativePath(s_root.Value, f))
                .Order(StringComparer.Ordinal));

    private static string Read(string relativePath) => File.ReadAllText(Path.Combine(s_root.Value, relativePath));

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LogPersist.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No LogPersist.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();
}
