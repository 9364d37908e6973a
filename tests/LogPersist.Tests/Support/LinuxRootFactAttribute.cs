namespace LogPersist.Tests.Support;

/// <summary>A Linux test that must give a directory to another user (<c>chown</c>): skipped unless the tests run as root.</summary>
internal sealed class LinuxRootFactAttribute : FactAttribute
{
    public LinuxRootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = LinuxOnly.Reason;
        }
        else if (Environment.UserName != "root")
        {
            Skip = "Needs root: it gives a directory to another user to see it refused.";
        }
    }
}
