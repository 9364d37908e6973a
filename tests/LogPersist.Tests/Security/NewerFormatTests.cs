using System.Buffers.Binary;
using System.IO.Abstractions;
using System.Numerics;
using System.Text.Json;
using LogPersist.Entries;
using LogPersist.Shipping;
using LogPersist.Tests.Cli;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using Ship = LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Security;

/// <summary>
/// A WAL written by a later LogPersist (a rollback on the same volume, an old pod adopting a new pod's
/// directory): what this version cannot read is kept for one that can, never skipped and deleted.
/// </summary>
public sealed class NewerFormatTests : IAsyncLifetime
{
    private const long SegmentBytes = 4096;
    private readonly TempDirectory _temp = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_segment_of_a_later_format_stops_the_reader_and_a_drain_keeps_it_and_everything_after_it()
    {
        var directory = _temp.Combine("default", "orders", "orders-a");
        using (var wal = WriteAheadLog.Open(Wals.Options(directory, SegmentBytes)))
        {
            Ship.Log(wal, 0, 200);
        }

        var segments = Directory.GetFiles(directory, SegmentNames.SearchPattern).Order(StringComparer.Ordinal).ToArray();
        Assert.True(segments.Length >= 3, "the entries span several segments");
        MakeNewer(segments[1]);
        var kept = segments[1..];

        using (var reader = new WalReader(new FileSystem(), directory, WalPosition.Start, long.MaxValue))
        {
            while (reader.TryRead(out var record))
            {
                Assert.Equal(Path.GetFileName(segments[0]), SegmentNames.FileName(record.Position.Segment));
            }
        }

        var result = await WalDrain.RunAsync(new System.IO.Abstractions.FileSystem(), directory, Ship.Options(_server.BaseAddress), null, TimeProvider.System, null, TimeSpan.FromSeconds(1), CancellationToken.None, removeDirectory: true);

        Assert.Equal(DrainStatus.Failed, result.Status);
        Assert.Contains("format version 3", result.Message, StringComparison.Ordinal);
        Assert.All(kept, s => Assert.True(File.Exists(s), s + " is kept"));
        Assert.NotEmpty(Ship.Sequences(_server.Entries));
        Assert.True(Ship.Sequences(_server.Entries).Max() < 200);
    }

    [Fact]
    public async Task An_entry_of_a_later_format_stops_shipping_before_it_and_nothing_from_it_on_is_acknowledged()
    {
        var directory = _temp.Combine("default", "orders", "orders-b");
        WalPosition newer;
        using (var wal = WriteAheadLog.Open(Wals.Options(directory, 1 << 16)))
        {
            Ship.Log(wal, 0, 10);
            var payload = new byte[40];
            payload[0] = EntryFormat.Newest + 1;
            Assert.True(wal.Append(payload));
            Ship.Log(wal, 10, 10);
            using var reader = wal.CreateReader();
            var records = new List<WalRecord>();
            while (reader.TryRead(out var record))
            {
                records.Add(record);
            }

            newer = records[10].Position;
        }

        var result = await WalDrain.RunAsync(new System.IO.Abstractions.FileSystem(), directory, Ship.Options(_server.BaseAddress), null, TimeProvider.System, null, TimeSpan.FromSeconds(1), CancellationToken.None, removeDirectory: true);

        Assert.Equal(DrainStatus.Failed, result.Status);
        Assert.Contains("an entry", result.Message, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Ship.Sequences(_server.Entries).Order());
        Assert.DoesNotContain(_server.Entries, e => e.Line.Contains("not a readable entry", StringComparison.Ordinal));
        Assert.Equal(newer, new Checkpoint(new FileSystem(), directory).Load());
        Assert.NotEmpty(Directory.GetFiles(directory, SegmentNames.SearchPattern));
    }

    [Fact]
    public async Task Inspect_and_verify_name_a_segment_of_a_later_format_without_calling_it_damage()
    {
        var directory = _temp.Combine("default", "orders", "orders-c");
        InspectWals.Write(directory, Enumerable.Range(0, 60).Select(i => InspectWals.Entry(i)));
        var segments = Directory.GetFiles(directory, SegmentNames.SearchPattern).Order(StringComparer.Ordinal).ToArray();
        MakeNewer(segments[^1]);

        var inspect = await CliRunner.RunAsync("inspect", directory, "--json");
        var verify = await CliRunner.RunAsync("verify", directory, "--json");

        Assert.Equal(0, inspect.ExitCode);
        using var json = JsonDocument.Parse(inspect.Output);
        var last = json.RootElement.GetProperty("segments").EnumerateArray().Last();
        Assert.Equal("newerVersion", last.GetProperty("header").GetString());
        Assert.Equal(3, last.GetProperty("formatVersion").GetInt32());
        Assert.Equal(0, last.GetProperty("damagedRanges").GetInt32());
        Assert.Equal(1, verify.ExitCode);
        using var verified = JsonDocument.Parse(verify.Output);
        Assert.Empty(verified.RootElement.GetProperty("damage").EnumerateArray());
        Assert.Contains(verified.RootElement.GetProperty("headerProblems").EnumerateArray(), p => p.GetProperty("problem").GetString() == "newerVersion");
    }

    /// <summary>Rewrites a segment's header as a later version would: version 3, checksum recomputed, records untouched.</summary>
    internal static void MakeNewer(string segment)
    {
        using var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[64];
        file.ReadExactly(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), SegmentHeader.CurrentVersion + 1);
        var crc = 0xFFFF_FFFFu;
        for (var i = 0; i < 60; i += 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(i)));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(60), ~crc);
        file.Position = 0;
        file.Write(header);
    }
}
