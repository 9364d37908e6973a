namespace LogPersist.Entries;

/// <summary>
/// How much one entry may hold, so that encoding it takes bounded time and memory whatever the values
/// are (cyclic, endless, enormous). What does not fit is cut where it stops, visibly and counted by
/// <see cref="CutReason"/>; the entry itself is always written.
/// </summary>
/// <remarks>
/// The byte budget covers the whole encoded entry. One text (message, template, exception, a string or
/// a value's <c>ToString</c>, a name) keeps at most a quarter of it, so that one text cannot starve the
/// rest of the entry: with the default budget that is 256 KiB, Loki's default <c>max_line_size</c>, so a
/// longer text could not be shipped in one line anyway. A sequence or map keeps its first
/// <see cref="MaxItems"/> items and is enumerated no further than one item past them, and the sequences
/// and maps of an entry hold at most <see cref="MaxItemsInAll"/> items in all, which bounds the work on
/// values that are small in bytes (properties and scopes are bounded by their count, 65,535 each).
/// </remarks>
internal sealed class EntryLimits
{
    /// <summary>The default of <see cref="LogPersistOptions.MaxEntryBytes"/>.</summary>
    public const int DefaultMaxBytes = 1 << 20;

    public const int SmallestMaxBytes = 4 << 10;

    public const int LargestMaxBytes = 1 << 30;

    /// <summary>Items a sequence or map keeps (a byte array is text, see <see cref="TextBytes"/>).</summary>
    public const int MaxItems = 1000;

    /// <summary>Items the sequences and maps of an entry hold in all, at every depth.</summary>
    public const int MaxItemsInAll = 100_000;

    /// <summary>
    /// Room kept below <see cref="MaxBytes"/> for what is written after the budget runs out: a cut
    /// marker, the suffix of a cut text, the counts and the cut summary.
    /// </summary>
    private const int ClosingBytes = 1024;

    public static readonly EntryLimits Default = new(DefaultMaxBytes);

    public EntryLimits(int maxBytes)
    {
        MaxBytes = Math.Max(maxBytes, 2 * ClosingBytes);
        ValueBytes = MaxBytes - ClosingBytes;
        TextBytes = MaxBytes / 4;
    }

    /// <summary>Most bytes an encoded entry takes.</summary>
    public int MaxBytes { get; }

    /// <summary>Where values stop being written: past it, later values are left out and counted.</summary>
    public int ValueBytes { get; }

    /// <summary>Most UTF-8 bytes one text keeps, a cut suffix included.</summary>
    public int TextBytes { get; }

    /// <summary>The limits of a pipeline: <paramref name="maxEntryBytes"/>, but no more than a WAL record can carry.</summary>
    public static EntryLimits For(int maxEntryBytes, int maxPayloadBytes) =>
        maxEntryBytes == DefaultMaxBytes && maxPayloadBytes >= DefaultMaxBytes ? Default : new(Math.Min(maxEntryBytes, maxPayloadBytes));

    /// <summary>The problem with a configured <see cref="LogPersistOptions.MaxEntryBytes"/>, or null.</summary>
    public static string? Error(int maxEntryBytes) =>
        maxEntryBytes is < SmallestMaxBytes or > LargestMaxBytes
            ? $"MaxEntryBytes must be between 4 KiB and 1 GiB; it is {maxEntryBytes}."
            : null;
}
