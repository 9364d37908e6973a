namespace LogPersist.Entries;

/// <summary>Severity of an entry, in the order of Microsoft.Extensions.Logging's levels.</summary>
internal enum EntryLevel : byte
{
    Trace = 0,
    Debug = 1,
    Information = 2,
    Warning = 3,
    Error = 4,
    Critical = 5,
}

internal static class EntryLevels
{
    private static readonly string[] Names = ["trace", "debug", "info", "warn", "error", "critical"];
    private static readonly byte[][] Utf8Names = Names.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

    /// <summary>The lower-case name Grafana recognises as a level (<c>info</c>, <c>warn</c>, …).</summary>
    public static string Name(EntryLevel level) => (uint)level < (uint)Names.Length ? Names[(int)level] : "unknown";

    public static ReadOnlySpan<byte> Utf8Name(EntryLevel level) =>
        (uint)level < (uint)Utf8Names.Length ? Utf8Names[(int)level] : "unknown"u8;
}
