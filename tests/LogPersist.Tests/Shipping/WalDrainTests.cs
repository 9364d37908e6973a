using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Ship = LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

public sealed class WalDrainTests
{
    [Fact]
    public async Task A_drain_whose_file_system_refuses_to_open_the_directory_fails_alone_and_leaves_every_segment()
    {
        using var root = new TempDirectory();
        var directory = root.Combine("default", "orders", "orders-a");
        using (var wal = WriteAheadLog.Open(Wals.Options(directory)))
        {
            Ship.Log(wal, 0, 20);
        }

        var before = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToArray();
        var fileSystem = new FaultyFileSystem { Fault = path => path.StartsWith(directory, StringComparison.Ordinal) ? FaultyFileSystem.NoSpace(path) : null };
        var handler = new ScriptedHandler(ScriptedHandler.Status(204));

        var result = await WalDrain.RunAsync(fileSystem, directory, Ship.Options(new Uri("http://loki.invalid/")), handler, TimeProvider.System, null, TimeSpan.FromSeconds(1), CancellationToken.None, removeDirectory: true);

        Assert.Equal(DrainStatus.Failed, result.Status);
        Assert.Contains("No space left on device", result.Message, StringComparison.Ordinal);
        Assert.True(fileSystem.FailedOpens > 0);
        Assert.Equal(0, handler.Calls);
        Assert.Equal(before, Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task A_drain_ships_and_removes_through_the_file_system_it_is_given()
    {
        using var root = new TempDirectory();
        var directory = root.Combine("default", "orders", "orders-a");
        using (var wal = WriteAheadLog.Open(Wals.Options(directory)))
        {
            Ship.Log(wal, 0, 20);
        }

        var fileSystem = new FaultyFileSystem();
        var handler = new ScriptedHandler(ScriptedHandler.Status(204));

        var result = await WalDrain.RunAsync(fileSystem, directory, Ship.Options(new Uri("http://loki.invalid/")), handler, TimeProvider.System, null, TimeSpan.FromSeconds(1), CancellationToken.None, removeDirectory: true);

        Assert.Equal(DrainStatus.Drained, result.Status);
        Assert.Equal(20, result.Entries);
        Assert.True(fileSystem.OpenAttempts > 0);
        Assert.False(Directory.Exists(directory));
    }
}
