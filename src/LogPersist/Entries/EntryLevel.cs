namespace LogPersist;

/// <summary>Severity of an entry, in the order of Microsoft.Extensions.Logging's levels (Serilog's Verbose is Trace, Fatal is Critical).</summary>
public enum EntryLevel : byte
{
    /// <summary>The most detailed messages.</summary>
    Trace = 0,

    /// <summary>Messages for debugging during development.</summary>
    Debug = 1,

    /// <summary>The general flow of the application.</summary>
    Information = 2,

    /// <summary>Something unexpected that did not stop the operation.</summary>
    Warning = 3,

    /// <summary>A failure of the current operation.</summary>
    Error = 4,

    /// <summary>A failure that needs immediate attention.</summary>
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
