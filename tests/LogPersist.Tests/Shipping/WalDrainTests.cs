using System.IO.Abstractions;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Ship = LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Shipping;

public sealed class WalDrainTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly ScriptedHandler _loki = new(ScriptedHandler.Status(204));
    private readonly string _directory;

    public WalDrainTests()
    {
        _directory = _root.Combine("default", "orders", "orders-a");
        using var wal = WriteAheadLog.Open(Wals.Options(_directory));
        Ship.Log(wal, 0, 20);
    }

    [Fact]
    public async Task A_drain_whose_file_system_refuses_to_open_the_directory_fails_alone_and_leaves_every_segment()
    {
        var before = Files();
        var fileSystem = new FaultyFileSystem { Fault = path => path.StartsWith(_directory, StringComparison.Ordinal) ? FaultyFileSystem.NoSpace(path) : null };

        var result = await DrainAsync(fileSystem);

        Assert.Equal(DrainStatus.Failed, result.Status);
        Assert.Contains("No space left on device", result.Message, StringComparison.Ordinal);
        Assert.True(fileSystem.FailedOpens > 0);
        Assert.Equal(0, _loki.Calls);
        Assert.Equal(before, Files());
    }

    [Fact]
    public async Task A_drain_ships_and_removes_through_the_file_system_it_is_given()
    {
        var fileSystem = new FaultyFileSystem();

        var result = await DrainAsync(fileSystem);

        Assert.Equal(DrainStatus.Drained, result.Status);
        Assert.Equal(20, result.Entries);
        Assert.True(fileSystem.OpenAttempts > 0);
        Assert.False(Directory.Exists(_directory));
    }

    public void Dispose()
    {
        _loki.Dispose();
        _root.Dispose();
    }

    private Task<DrainResult> DrainAsync(IFileSystem fileSystem) =>
        WalDrain.RunAsync(fileSystem, _directory, Ship.Options(new Uri("http://loki.invalid/")), _loki, TimeProvider.System, null, TimeSpan.FromSeconds(1), CancellationToken.None, removeDirectory: true);

    private string[] Files() => [.. Directory.GetFiles(_directory).Order(StringComparer.Ordinal)];
}
