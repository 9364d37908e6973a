using System.IO.Abstractions;
using LogPersist.Loki;
using LogPersist.Shipping;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Formats;

/// <summary>
/// The control files of a version 1 WAL directory, pinned by checked-in copies (<c>Fixtures/v1/wal/</c>): the
/// checkpoint, the owner record and the stream description read as written, and are still written byte for byte.
/// </summary>
public sealed class ControlFilesV1Tests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FileSystem _fileSystem = new();

    public ControlFilesV1Tests() => Fixtures.CopyFolder("v1/wal", _dir.Path);

    public void Dispose() => _dir.Dispose();

    private static readonly OwnerRecord Owner = new()
    {
        ProcessId = 4242,
        Host = "node-7",
        Started = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Description = "orders/orders-0",
        Token = "5f0c6d1e2b3a4f5e8d7c6b5a49382716",
        Pod = "orders-0",
        PodUid = "0f9c2a1e-7b3d-4c5e-9a8b-1d2e3f4a5b6c",
        Node = "node-7",
        BootId = "7c0a9e2f-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
        Epoch = 2,
        Heartbeat = 17,
        Lease = TimeSpan.FromSeconds(30),
        LeaseExpires = new DateTimeOffset(2026, 1, 1, 0, 1, 25, TimeSpan.Zero),
        State = OwnerState.Adopting,
        AdoptedBy = "orders-1",
    };

    private static readonly StreamDescription Description = new()
    {
        Labels = LabelSet.Create([new("service_name", "orders"), new("pod", "orders-0"), new("namespace", "shop")]),
        LevelLabel = true,
        LabelProperties = ["Tenant"],
        LineFormat = LineFormat.Logfmt,
        MaxLineBytes = 131_072,
        OversizedLines = OversizedLineMode.Split,
        StructuredMetadata = StructuredMetadataMode.Auto,
        MetadataDecision = true,
    };

    [Fact]
    public void A_version_1_checkpoint_loads_its_position_and_is_still_encoded_byte_for_byte()
    {
        Assert.Equal(new WalPosition(7, 144), new Checkpoint(_fileSystem, _dir.Path).Load());

        var encoded = new byte[32];
        Checkpoint.Encode(new WalPosition(7, 144), encoded);
        Assert.Equal(Convert.ToHexString(Fixtures.Bytes("v1", "wal", Checkpoint.FileName)), Convert.ToHexString(encoded));
    }

    [Fact]
    public void A_version_1_checkpoint_with_any_byte_changed_loads_as_nothing_shipped()
    {
        var original = Fixtures.Bytes("v1", "wal", Checkpoint.FileName);
        var path = Path.Combine(_dir.Path, Checkpoint.FileName);
        for (var i = 0; i < original.Length; i++)
        {
            var damaged = (byte[])original.Clone();
            damaged[i] ^= 0x10;
            File.WriteAllBytes(path, damaged);

            Assert.Equal(WalPosition.Start, new Checkpoint(_fileSystem, _dir.Path).Load());
        }
    }

    [Fact]
    public void A_version_1_owner_record_reads_every_field_and_is_still_written_line_for_line()
    {
        var text = File.ReadAllText(Fixtures.Path("v1", "wal", OwnerRecord.FileName));

        Assert.Equal(Owner, OwnerRecord.Parse(text));
        Assert.Equal(text, Owner.Format());
    }

    [Fact]
    public void A_version_1_stream_description_reads_every_setting_and_is_still_written_byte_for_byte()
    {
        Assert.True(StreamDescription.TryLoad(_fileSystem, _dir.Path, out var loaded, out var error), error);
        Assert.Equal(
            [new("namespace", "shop"), new("pod", "orders-0"), new("service_name", "orders")],
            loaded.Labels.Labels);
        Assert.Equal(
            (Description.LevelLabel, Description.LineFormat, Description.MaxLineBytes, Description.OversizedLines, Description.StructuredMetadata, Description.MetadataDecision),
            (loaded.LevelLabel, loaded.LineFormat, loaded.MaxLineBytes, loaded.OversizedLines, loaded.StructuredMetadata, loaded.MetadataDecision));
        Assert.Equal(Description.LabelProperties, loaded.LabelProperties);

        using var written = new TempDirectory();
        Description.Save(_fileSystem, written.Path);
        Assert.Equal(
            File.ReadAllText(Fixtures.Path("v1", "wal", StreamDescription.FileName)),
            File.ReadAllText(Path.Combine(written.Path, StreamDescription.FileName)));
    }
}
