using LogPersist.Entries;

namespace LogPersist.Cli.Run.Files;

/// <summary>
/// What a followed file's lines are: the component they belong to (the entry's category, derived from
/// the file's name, never the name itself) and the level a line's format gives it. The one place such
/// rules live; the built-in rules know nothing yet: every file is <c>file</c>, every plain line Information.
/// </summary>
internal interface IFileLineRules
{
    /// <summary>The component of the lines of <paramref name="path"/>: a small, bounded set of names.</summary>
    string Component(string path);

    /// <summary>The level of a plain line of <paramref name="path"/>, or null when its format does not say.</summary>
    EntryLevel? Level(string path, ReadOnlySpan<byte> line);
}

/// <summary>The rules used until specific ones exist: one component, levels only from JSON lines.</summary>
internal sealed class PlainFileLineRules : IFileLineRules
{
    public const string DefaultComponent = "file";

    public static readonly PlainFileLineRules Instance = new();

    public string Component(string path) => DefaultComponent;

    public EntryLevel? Level(string path, ReadOnlySpan<byte> line) => null;
}
