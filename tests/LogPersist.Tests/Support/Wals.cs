using System.Buffers.Binary;
using System.IO.Abstractions;
using LogPersist.Wal;

namespace LogPersist.Tests.Support;

/// <summary>Small helpers to open WALs and read them back in tests.</summary>
internal static class Wals
{
    public static WalOptions Options(string directory, long segmentBytes = 64 * 1024, long? maxDiskBytes = null, WalFullMode fullMode = WalFullMode.DropOldest, WalDurability durability = WalDurability.PageCache, IFileSystem? fileSystem = null, TimeProvider? time = null) =>
        new()
        {
            Directory = directory,
            SegmentBytes = segmentBytes,
            MaxDiskBytes = maxDiskBytes ?? segmentBytes * 1024,
            FullMode = fullMode,
            Durability = durability,
            FileSystem = fileSystem ?? new FileSystem(),
            TimeProvider = time ?? TimeProvider.System,
        };

    /// <summary>Writes records 0 .. count-1 into a new or reopened WAL and closes it.</summary>
    public static void Fill(string directory, int count, long segmentBytes, int payloadLength = 100)
    {
        using var wal = WriteAheadLog.Open(Options(directory, segmentBytes));
        for (var i = 0; i < count; i++)
        {
            wal.Append(Payload(i, payloadLength));
        }
    }

    /// <summary>A payload of <paramref name="length"/> bytes that starts with <paramref name="sequence"/> and is otherwise derived from it.</summary>
    public static byte[] Payload(long sequence, int length = 170)
    {
        var bytes = new byte[Math.Max(length, 8)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, sequence);
        for (var i = 8; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(sequence * 31 + i);
        }

        return bytes;
    }

    /// <summary>True when <paramref name="payload"/> is exactly what <see cref="Payload"/> made for its sequence.</summary>
    public static bool IsIntact(ReadOnlySpan<byte> payload, out long sequence)
    {
        sequence = payload.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(payload) : -1;
        return sequence >= 0 && payload.SequenceEqual(Payload(sequence, payload.Length));
    }

    /// <summary>
    /// Reads every record of a WAL directory that no writer holds. An entry that refers to its segment's
    /// string table (format 2) is returned self-contained (format 1), so that it decodes on its own.
    /// </summary>
    public static List<(RecordKind Kind, byte[] Payload)> ReadAll(string directory, out WalReader reader, WalPosition? from = null, long liveFrom = long.MaxValue)
    {
        reader = new WalReader(new FileSystem(), directory, from ?? WalPosition.Start, liveFrom);
        var records = new List<(RecordKind, byte[])>();
        var selfContained = new LogPersist.Entries.PayloadWriter(256);
        while (reader.TryRead(out var record))
        {
            var payload = record.Payload.ToArray();
            if (record.Kind == RecordKind.Data && payload[0] == LogPersist.Entries.EntryFormat.Version2
                && LogPersist.Entries.EntryView.TryDecode(payload, record.Strings, out var view))
            {
                view.WriteSelfContained(selfContained);
                payload = selfContained.Written.ToArray();
            }

            records.Add((record.Kind, payload));
        }

        return records;
    }

    /// <summary>
    /// The sequence of a directory's newest segment: the only one a live writer may still append to.
    /// Earlier ones, a killed writer's last among them, are read as closed, past any unfinished tail.
    /// </summary>
    public static long NewestSegment(string directory) =>
        Directory.EnumerateFiles(directory, SegmentNames.SearchPattern)
            .Select(p => SegmentNames.TryParse(Path.GetFileName(p), out var sequence) ? sequence : 0)
            .DefaultIfEmpty(1)
            .Max();

    public static List<long> DataSequences(IEnumerable<(RecordKind Kind, byte[] Payload)> records) =>
        [.. records.Where(r => r.Kind == RecordKind.Data).Select(r => BinaryPrimitives.ReadInt64LittleEndian(r.Payload))];
}
