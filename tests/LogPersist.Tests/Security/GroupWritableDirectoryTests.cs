using LogPersist.Pipeline;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Security;

/// <summary><see cref="LogPersistOptions.AllowGroupWritableDirectories"/>: for volumes whose fsGroup makes directory levels group-writable.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class GroupWritableDirectoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public void With_the_option_a_level_writable_by_an_own_group_is_accepted_but_a_world_writable_one_is_not()
    {
        var root = _temp.Combine("volume");
        var level = Path.Combine(root, "default");
        Directory.CreateDirectory(level);

        // The process's own group (as a pod's fsGroup would be) may write: accepted, and left as it is.
        File.SetUnixFileMode(level, (UnixFileMode)0b111_111_101);
        using (var pipeline = LogPipeline.Open(Options(root)))
        {
            Assert.StartsWith(level, pipeline.Directory, StringComparison.Ordinal);
        }

        Assert.Equal((UnixFileMode)0b111_111_101, File.GetUnixFileMode(level));

        File.SetUnixFileMode(level, (UnixFileMode)0b111_111_111);
        var error = Assert.Throws<InvalidOperationException>(() => LogPipeline.Open(Options(root)));
        Assert.Contains("writable by every user", error.Message, StringComparison.Ordinal);
    }

    private static LogPersistOptions Options(string root) => new()
    {
        Directory = root,
        ServiceName = "orders",
        Instance = "orders-0",
        LokiUrl = "",
        SegmentBytes = 1 << 16,
        MaxDiskBytes = 1 << 22,
        AllowGroupWritableDirectories = true,
        Environment = _ => null,
    };
}
