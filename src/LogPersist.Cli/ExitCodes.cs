namespace LogPersist.Cli;

/// <summary>The tool's exit codes, documented in docs/operations.md so scripts and Kubernetes Jobs can rely on them.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked and found nothing wrong.</summary>
    public const int Ok = 0;

    /// <summary>The command ran and found problems: damaged records, entries it could not ship, a directory held by a live process.</summary>
    public const int Problems = 1;

    /// <summary>The command line was wrong: unknown command or option, missing or invalid value, a directory that is not a WAL.</summary>
    public const int Usage = 2;
}
