using System.Globalization;

namespace LogPersist.Wal;

/// <summary>Segment file names: the sequence number, zero padded so that names sort in sequence order.</summary>
internal static class SegmentNames
{
    public const string Extension = ".wal";
    public const string SearchPattern = "*" + Extension;

    /// <summary>Suffix of a segment that is still being created (see <see cref="TemporaryFile"/>); such files are removed on open.</summary>
    public const string TemporarySuffix = ".tmp";

    public static string FileName(long sequence) =>
        sequence.ToString("D20", CultureInfo.InvariantCulture) + Extension;

    public static bool TryParse(string fileName, out long sequence)
    {
        sequence = 0;
        return fileName.Length == 20 + Extension.Length
            && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
            && sequence > 0;
    }
}
