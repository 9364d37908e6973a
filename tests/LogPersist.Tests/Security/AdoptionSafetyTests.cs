using System.IO.Abstractions;
using LogPersist.Adoption;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using Ship = LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Security;

/// <summary>
/// An adopting instance looks at every sibling directory of its service on a shared volume: a planted
/// sibling must cost it nothing, and must never turn it against other people's files.
/// </summary>
public sealed class AdoptionSafetyTests : IDisposable
{
    private const string Service = "orders";
    private readonly TempDirectory _root = new();
    private readonly FileSystem _fileSystem = new();

    public void Dispose() => _root.Dispose();

    [LinuxFact]
    public async Task A_sibling_whose_owner_record_never_ends_is_left_alone_and_the_real_orphan_is_still_adopted()
    {
        var orphan = Orphan("orders-a");
        var planted = Orphan("orders-z");
        File.Delete(Path.Combine(planted, OwnerRecord.FileName));
        Planted.Fifo(Path.Combine(planted, OwnerRecord.FileName));
        var time = new ManualTime();
        var adopter = Adopter(time);

        await Planted.WithinAsync(TimeSpan.FromSeconds(20), () =>
        {
            adopter.ScanOnceAsync().AsTask().GetAwaiter().GetResult();
            time.Advance(TimeSpan.FromSeconds(31));
            adopter.ScanOnceAsync().AsTask().GetAwaiter().GetResult();
            return true;
        });

        Assert.False(Directory.Exists(orphan), "the real orphan was claimed and moved");
        Assert.True(Directory.Exists(planted), "the planted one was left where it is");
    }

    [LinuxFact]
    public async Task A_sibling_that_links_to_a_directory_elsewhere_is_never_adopted()
    {
        var elsewhere = _root.Combine("elsewhere", "orders-x");
        Wals.Fill(elsewhere, 5, 4096);
        new OwnerRecord { Token = "x", Pod = "orders-x", Lease = TimeSpan.FromSeconds(30) }.Write(_fileSystem, elsewhere);
        var link = _root.Combine("default", Service, "orders-x");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        Directory.CreateSymbolicLink(link, elsewhere);
        var before = Directory.GetFiles(elsewhere).Order(StringComparer.Ordinal).ToArray();
        var time = new ManualTime();
        var adopter = Adopter(time);

        await adopter.ScanOnceAsync();
        time.Advance(TimeSpan.FromSeconds(31));
        await adopter.ScanOnceAsync();

        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(before, Directory.GetFiles(elsewhere).Order(StringComparer.Ordinal).ToArray());
        var area = _root.Combine("default", Service, AdoptionArea.DirectoryName);
        Assert.False(Directory.Exists(area) && Directory.EnumerateFileSystemEntries(area).Any());
    }

    [Fact]
    public async Task An_orphan_with_an_invalid_stream_description_is_shipped_once_under_its_path_labels_without_piling_claims()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Version = "3.5.1" });
        var orphan = WriteClosedWal("orders-a", 0, 50);
        File.WriteAllText(Path.Combine(orphan, StreamDescription.FileName), """{"version":1,"labels":{},"levelLabel":false,"labelProperties":[],"lineFormat":"Json","maxLineBytes":262144,"oversizedLines":"Truncate","structuredMetadata":"Auto"}""");

        await using (var b = LogPipeline.Open(Options("orders-b", server.BaseAddress.ToString(), adopt: true)))
        {
            await Ship.WaitForAsync(() => b.Adopter!.Adopted >= 1, "the orphan to be shipped and removed");
        }

        var stored = server.Entries.Where(e => e.LabelMap["pod"] == "orders-a").ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), Ship.Sequences(stored).Order());
        Assert.False(Directory.Exists(orphan));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root.Combine("default", Service, AdoptionArea.DirectoryName)));
    }

    /// <summary>A closed WAL of a gone instance whose owner record still says live (it was killed).</summary>
    private string Orphan(string instance)
    {
        var directory = _root.Combine("default", Service, instance);
        Wals.Fill(directory, 5, 4096);
        new OwnerRecord { Token = instance, Pod = instance, Lease = TimeSpan.FromSeconds(30) }.Write(_fileSystem, directory);
        return directory;
    }

    private OrphanAdopter Adopter(TimeProvider time) => new(new AdoptionOptions
    {
        OwnDirectory = _root.Combine("default", Service, "orders-b"),
        Shipping = () => throw new InvalidOperationException("shipping is not part of this test"),
        AdoptedBy = "orders-b",
        TimeProvider = time,
    });

    private string WriteClosedWal(string instance, long from, int count)
    {
        using var pipeline = LogPipeline.Open(Options(instance, url: null, adopt: false));
        var encoder = new EntryEncoder();
        for (var i = from; i < from + count; i++)
        {
            Assert.True(pipeline.Append(encoder.Encode(Ship.Entry(i))));
        }

        return pipeline.Directory;
    }

    private LogPersistOptions Options(string instance, string? url, bool adopt) => new()
    {
        Directory = _root.Path,
        ServiceName = Service,
        Instance = instance,
        LokiUrl = url,
        AdoptOrphans = adopt,
        SegmentBytes = 1 << 20,
        MaxDiskBytes = 1L << 30,
        BatchMaxWait = TimeSpan.FromMilliseconds(20),
        LeaseDuration = TimeSpan.FromSeconds(1),
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        AdoptionScanInterval = TimeSpan.FromMilliseconds(200),
        Environment = _ => null,
    };
}
