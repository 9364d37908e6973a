using System.Buffers.Binary;
using System.IO.Abstractions;
using System.Numerics;
using LogPersist.Diagnostics;

namespace LogPersist.Wal;

/// <summary>
/// The acknowledged position: everything before it has been shipped and may be deleted.
/// Saved by writing a new file, syncing it and renaming it over the old one, so after any crash
/// the file holds either the previous or the new position, never a mix, never garbage. Read only
/// when it is a small regular file (<see cref="ControlFile"/>); anything else counts as no checkpoint.
/// </summary>
/// <remarks>
/// <code>
/// offset size
///  0     4    magic "LPCK"
///  4     2    version (1)
///  6     2    reserved
///  8     8    segment
/// 16     8    offset
/// 24     4    CRC-32C of bytes 0..24
/// 28     4    reserved
/// </code>
/// </remarks>
internal sealed class Checkpoint
{
    public const string FileName = "checkpoint";

    /// <summary>How the name of the checkpoint's temporary file ends (<see cref="TemporaryFile"/>).</summary>
    public const string TemporaryFileName = FileName + TemporaryFile.Suffix;
    private const int Size = 32;
    private const uint Magic = 0x4B43_504C; // "LPCK"
    private const ushort Version = 1;

    private readonly IFileSystem _fileSystem;
    private readonly string _path;
    private readonly object _saveLock = new();
    private WalPosition _position;

    public Checkpoint(IFileSystem fileSystem, string directory)
    {
        _fileSystem = fileSystem;
        _path = fileSystem.Path.Combine(directory, FileName);
    }

    /// <summary>The last position saved or loaded.</summary>
    public WalPosition Position
    {
        get
        {
            lock (_saveLock)
            {
                return _position;
            }
        }
    }

    /// <summary>
    /// Loads the saved position. A missing file means nothing was acknowledged; an unreadable or
    /// damaged one is reported and treated the same way (everything is shipped again, which the
    /// server deduplicates), because a position must never be ahead of what was acknowledged.
    /// </summary>
    public WalPosition Load()
    {
        WalPosition position;
        try
        {
            var bytes = ControlFile.Read(_fileSystem, _path);
            position = bytes is not null && TryDecode(bytes, out var saved) ? saved : WalPosition.Start;
            if (bytes is not null && position == WalPosition.Start)
            {
                LogPersistEventSource.Log.CheckpointInvalid(_path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.CheckpointInvalid(_path, e);
            position = WalPosition.Start;
        }

        lock (_saveLock)
        {
            _position = position;
        }

        return position;
    }

    /// <summary>Persists <paramref name="position"/> if it is ahead of the saved one. Throws on I/O failure.</summary>
    public bool Save(WalPosition position)
    {
        lock (_saveLock)
        {
            if (position <= _position)
            {
                return false;
            }

            Span<byte> bytes = stackalloc byte[Size];
            Encode(position, bytes);
            var temporary = TemporaryFile.PathFor(_fileSystem, _path);
            try
            {
                using (var stream = TemporaryFile.Create(_fileSystem, temporary))
                {
                    stream.Write(bytes);
                    stream.Flush(flushToDisk: true);
                }

                _fileSystem.File.Move(temporary, _path, overwrite: true);
            }
            catch
            {
                TemporaryFile.TryDelete(_fileSystem, temporary);
                throw;
            }

            _position = position;
            return true;
        }
    }

    internal static void Encode(WalPosition position, Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], position.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], position.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], Crc(destination));
    }

    internal static bool TryDecode(ReadOnlySpan<byte> source, out WalPosition position)
    {
        position = default;
        if (source.Length != Size
            || BinaryPrimitives.ReadUInt32LittleEndian(source) != Magic
            || BinaryPrimitives.ReadUInt16LittleEndian(source[4..]) != Version
            || BinaryPrimitives.ReadUInt32LittleEndian(source[24..]) != Crc(source)
            || BinaryPrimitives.ReadUInt32LittleEndian(source[28..]) != 0)
        {
            return false;
        }

        position = new WalPosition(
            BinaryPrimitives.ReadInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[16..]));
        return position.Segment >= 0 && position.Offset >= 0;
    }

    private static uint Crc(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFF_FFFFu;
        for (var i = 0; i < 24; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]));
        }

        return ~crc;
    }
}
