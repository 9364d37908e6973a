using LogPersist.Wal;

namespace LogPersist.Tests.Support;

/// <summary>
/// The device syncs a WAL makes, recorded around the real ones. Before each msync or fsync it notes which records
/// (payloads made by <see cref="Wals.Payload"/>) are published in that segment; once the real call has returned, those
/// records count as durable. So a test can ask, right after an append or a flush returned, whether a completed sync
/// that started after the record was written covered it: a mode that never syncs, syncs too early or syncs the wrong
/// segment leaves records that are not durable.
/// </summary>
internal sealed class SyncRecorder : IDeviceSync
{
    private readonly object _lock = new();
    private readonly HashSet<long> _durable = [];
    private int _mappedSyncs;
    private int _fileSyncs;

    /// <summary>msync calls completed.</summary>
    public int MappedSyncs => Volatile.Read(ref _mappedSyncs);

    /// <summary>fsync calls completed, of segments no longer mapped.</summary>
    public int FileSyncs => Volatile.Read(ref _fileSyncs);

    public int Syncs => MappedSyncs + FileSyncs;

    /// <summary>True once a completed sync covered the record of <paramref name="sequence"/>.</summary>
    public bool IsDurable(long sequence)
    {
        lock (_lock)
        {
            return _durable.Contains(sequence);
        }
    }

    /// <summary>The sequences of <paramref name="sequences"/> that no completed sync covered yet.</summary>
    public List<long> NotDurable(IEnumerable<long> sequences)
    {
        lock (_lock)
        {
            return [.. sequences.Where(s => !_durable.Contains(s))];
        }
    }

    public void Sync(MappedSegment segment)
    {
        var published = Published(segment.Bytes, segment.Sequence);
        KernelDeviceSync.Instance.Sync(segment);
        Completed(published, ref _mappedSyncs);
    }

    public void Sync(string path)
    {
        List<long> published;
        try
        {
            Assert.True(SegmentNames.TryParse(Path.GetFileName(path), out var sequence), $"'{path}' is a segment");
            published = Published(File.ReadAllBytes(path), sequence);
        }
        catch (FileNotFoundException)
        {
            published = [];
        }

        KernelDeviceSync.Instance.Sync(path);
        Completed(published, ref _fileSyncs);
    }

    private void Completed(List<long> published, ref int counter)
    {
        lock (_lock)
        {
            _durable.UnionWith(published);
        }

        Interlocked.Increment(ref counter);
    }

    /// <summary>Every valid data record in the bytes, wherever it lies (an appender still copying may leave a hole before it).</summary>
    private static List<long> Published(ReadOnlySpan<byte> bytes, long sequence)
    {
        var found = new List<long>();
        var offset = SegmentScanner.FirstRecordOffset;
        while (offset >= 0 && offset + RecordFormat.HeaderSize <= bytes.Length)
        {
            var record = RecordFormat.TryRead(bytes, sequence, offset);
            if (record.Status != RecordStatus.Valid)
            {
                offset = RecordFormat.FindNextValid(bytes, sequence, offset + RecordFormat.Alignment);
                continue;
            }

            if (record.Kind == RecordKind.Data && Wals.IsIntact(bytes.Slice(record.PayloadOffset, record.PayloadLength), out var payloadSequence))
            {
                found.Add(payloadSequence);
            }

            offset += record.Size;
        }

        return found;
    }
}
