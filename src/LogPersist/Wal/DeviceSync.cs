namespace LogPersist.Wal;

/// <summary>
/// The two calls that put written WAL bytes on the device: msync of a mapped segment, and fsync of a segment
/// file that is no longer mapped. <see cref="WalSyncer"/> decides when the durability modes make them; tests
/// substitute a recorder to see which are made and what they cover.
/// </summary>
internal interface IDeviceSync
{
    /// <summary>Writes the dirty pages of a mapped segment to the device (msync).</summary>
    void Sync(MappedSegment segment);

    /// <summary>Writes a segment file that is no longer mapped to the device (fsync); a file deleted meanwhile needs nothing.</summary>
    void Sync(string path);
}

/// <summary>The kernel's msync and fsync.</summary>
internal sealed class KernelDeviceSync : IDeviceSync
{
    public static readonly KernelDeviceSync Instance = new();

    private KernelDeviceSync()
    {
    }

    public void Sync(MappedSegment segment) => segment.Sync();

    public void Sync(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.Flush(flushToDisk: true);
        }
        catch (FileNotFoundException)
        {
            // Shipped and deleted meanwhile: nothing left to make durable.
        }
    }
}
