namespace LogPersist.Tests.Support;

/// <summary>A fact about Linux (statfs, /proc, signals, no-follow opens, FIFOs, devices): elsewhere it is reported as skipped, never as a pass that tested nothing.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = LinuxOnly.Reason;
        }
    }
}

/// <summary>A theory about Linux: elsewhere it is reported as skipped, never as a pass that tested nothing.</summary>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = LinuxOnly.Reason;
        }
    }
}

internal static class LinuxOnly
{
    public const string Reason = "Linux only: it checks what the Linux kernel does.";
}
