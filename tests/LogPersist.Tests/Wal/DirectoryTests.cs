using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Wal;

public sealed class DirectoryTests
{
    [Fact]
    public void A_second_open_of_a_held_directory_names_the_directory_and_the_holder()
    {
        using var dir = new TempDirectory();
        using var first = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192, OwnerDescription = "pod api-7d9 (test)" });

        var error = Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192 }));

        Assert.Equal(dir.Path, error.Directory);
        Assert.Equal(Environment.ProcessId, error.HolderProcessId);
        Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Contains("pod api-7d9 (test)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_directory_can_be_opened_again_once_the_holder_is_disposed()
    {
        using var dir = new TempDirectory();
        WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192 }).Dispose();
        using var second = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192 });
        Assert.True(second.Append([1, 2, 3]));
    }

    [LinuxFact]
    public void Files_are_owner_only_and_the_directory_and_its_new_parents_are_created_0700()
    {
        using var dir = new TempDirectory();
        var walDirectory = dir.Combine("service", "instance-0");
        using (var wal = WriteAheadLog.Open(new WalOptions { Directory = walDirectory, SegmentBytes = 8192 }))
        {
            wal.Append([1, 2, 3]);
            using var reader = wal.CreateReader();
            Assert.True(reader.TryRead(out var record));
            Assert.True(wal.Acknowledge(record.Next));
        }

        // The modes as stat(1) prints them in octal: another program's view, not LogPersist's own constants.
        Assert.Equal("700", OctalMode(walDirectory));
        Assert.Equal("700", OctalMode(dir.Combine("service")));
        var files = Directory.GetFiles(walDirectory);
        Assert.Contains(files, f => f.EndsWith(".wal", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(Checkpoint.FileName, StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(OwnerRecord.FileName, StringComparison.Ordinal));
        Assert.All(files, f => Assert.Equal("600", OctalMode(f)));
    }

    [Fact]
    public void An_unwritable_directory_is_a_clear_startup_error_naming_the_path()
    {
        using var dir = new TempDirectory();
        var fileSystem = new FaultyFileSystem
        {
            Fault = path => path.EndsWith(DirectoryLock.LockFileName, StringComparison.Ordinal) ? new UnauthorizedAccessException($"Access to the path '{path}' is denied.") : null,
        };

        var error = Assert.Throws<UnauthorizedAccessException>(() => WriteAheadLog.Open(new WalOptions { Directory = dir.Path, FileSystem = fileSystem }));
        Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_refused_with_every_problem_in_one_message()
    {
        var error = Assert.Throws<ArgumentException>(() => new WalOptions
        {
            Directory = " ",
            SegmentBytes = 1000,
            MaxDiskBytes = 1500,
            FullMode = WalFullMode.Block,
            BlockTimeout = TimeSpan.Zero,
        }.Validate());

        Assert.Contains("Directory", error.Message, StringComparison.Ordinal);
        Assert.Contains("SegmentBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxDiskBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("BlockTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Leftovers_of_a_crash_during_segment_creation_are_removed_on_open()
    {
        using var dir = new TempDirectory();
        WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192 }).Dispose();
        var leftover = dir.Combine(SegmentNames.FileName(99) + SegmentNames.TemporarySuffix);
        File.WriteAllBytes(leftover, new byte[100]);

        using var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192 });

        Assert.False(File.Exists(leftover));
        Assert.True(wal.Append([7]));
    }

    private static string OctalMode(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("%a");
        start.ArgumentList.Add(path);
        using var stat = System.Diagnostics.Process.Start(start)!;
        var mode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        Assert.Equal(0, stat.ExitCode);
        return mode;
    }
}
