namespace LogPersist.Tests.Support;

/// <summary>
/// A test of behaviour that only Linux has (no-follow opens, <c>statx</c>, FIFOs, <c>/dev/zero</c>):
/// reported as skipped elsewhere, never passed without running.
/// </summary>
internal sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only: it checks what LogPersist does with links, FIFOs and devices there.";
        }
    }
}

/// <summary>A <see cref="LinuxFactAttribute"/> for theories.</summary>
internal sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only: it checks what LogPersist does with links, FIFOs and devices there.";
        }
    }
}

/// <summary>A Linux test that must give a directory to another user (<c>chown</c>): skipped unless the tests run as root.</summary>
internal sealed class LinuxRootFactAttribute : FactAttribute
{
    public LinuxRootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only.";
        }
        else if (Environment.UserName != "root")
        {
            Skip = "Needs root: it gives a directory to another user to see it refused.";
        }
    }
}
