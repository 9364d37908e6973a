using System.Diagnostics;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Security;

/// <summary>
/// The levels between the WAL root and an instance directory on a volume other users can write to:
/// never followed as links, never left writable by others, never someone else's.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DirectoryLevelTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => _temp.Combine("volume");

    [LinuxFact]
    public void A_service_level_that_links_elsewhere_is_refused_and_nothing_is_written_outside_the_root()
    {
        var outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        Directory.CreateDirectory(Path.Combine(Root, "default"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "default", "orders"), outside);

        var error = Assert.Throws<InvalidOperationException>(() => LogPipeline.Open(Options()));

        Assert.Contains(Path.Combine(Root, "default", "orders"), error.Message, StringComparison.Ordinal);
        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [LinuxFact]
    public void A_group_writable_namespace_level_is_refused_naming_the_level_and_the_way_out()
    {
        var level = Path.Combine(Root, "default");
        Directory.CreateDirectory(level);
        File.SetUnixFileMode(level, (UnixFileMode)0b111_111_101);

        var error = Assert.Throws<InvalidOperationException>(() => LogPipeline.Open(Options()));

        Assert.Contains(level, error.Message, StringComparison.Ordinal);
        Assert.Contains("writable by its group", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowGroupWritableDirectories", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(level, "orders")));
    }

    [LinuxFact]
    public void A_world_writable_service_level_is_refused()
    {
        var level = Path.Combine(Root, "default", "orders");
        Directory.CreateDirectory(level);
        File.SetUnixFileMode(level, (UnixFileMode)0b111_111_111);

        var error = Assert.Throws<InvalidOperationException>(() => LogPipeline.Open(Options()));

        Assert.Contains("writable by every user", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(level, "orders-0")));
    }

    [LinuxFact]
    public void A_pre_created_0777_instance_directory_is_narrowed_to_0700()
    {
        var instance = Path.Combine(Root, "default", "orders", "orders-0");
        Directory.CreateDirectory(instance);
        File.SetUnixFileMode(instance, (UnixFileMode)0b111_111_111);

        using (var pipeline = LogPipeline.Open(Options()))
        {
            Assert.Equal(instance, pipeline.Directory);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(instance));
    }

    [LinuxRootFact]
    public void A_level_owned_by_another_user_is_refused()
    {
        var level = Path.Combine(Root, "default");
        Directory.CreateDirectory(level);
        using (var chown = Process.Start(new ProcessStartInfo("chown", ["65534", level]) { UseShellExecute = false })!)
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        var error = Assert.Throws<InvalidOperationException>(() => LogPipeline.Open(Options()));

        Assert.Contains("owned by uid 65534", error.Message, StringComparison.Ordinal);
    }

    private LogPersistOptions Options() => new()
    {
        Directory = Root,
        ServiceName = "orders",
        Instance = "orders-0",
        LokiUrl = "",
        SegmentBytes = 1 << 16,
        MaxDiskBytes = 1 << 22,
        Environment = _ => null,
    };
}
