using System.Text;
using LogPersist.LokiTestServer.Proto;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The per-entry checks Loki's distributor makes, in its order (Validator.ValidateEntry in pkg/distributor/validator.go):
/// too old, too new, line too long, then structured metadata disallowed (2.9+), too large and too many (3.0+). The
/// out-of-order check belongs to the stream and is made by <see cref="IngesterStream"/>.
/// </summary>
internal sealed class EntryValidator(LokiTestServerOptions options)
{
    // util.ExcludedStructuredMetadataLabels (pkg/util/entry_size.go, v3.3.0+): Loki's own level field is not counted.
    private const string DetectedLevel = "detected_level";

    private LokiDialect Dialect => options.Dialect;

    /// <summary>The window of acceptable timestamps for a push arriving now.</summary>
    public Window WindowAt(DateTimeOffset now) => new(
        options.RejectOldSamplesMaxAge > TimeSpan.Zero ? GoTime.ToUnixNs(now - options.RejectOldSamplesMaxAge) : long.MinValue,
        GoTime.ToUnixNs(now + options.CreationGracePeriod));

    /// <summary>Returns Loki's reason for refusing the entry of <paramref name="stream"/> (its labels as Loki prints them), or null to accept it.</summary>
    public string? Refuse(Window window, string stream, long timestampNs, EntryAdapter entry)
    {
        if (timestampNs < window.OldestNs)
        {
            return LokiMessages.TimestampTooOld(stream, timestampNs, window.OldestNs);
        }

        if (timestampNs > window.NewestNs)
        {
            return LokiMessages.TimestampTooNew(stream, timestampNs);
        }

        var line = entry.Line;
        if (options.MaxLineBytes > 0 && line.Length > options.MaxLineBytes / 3 && Encoding.UTF8.GetByteCount(line) is var bytes && bytes > options.MaxLineBytes)
        {
            return LokiMessages.LineTooLong(Dialect, options.MaxLineBytes, stream, bytes);
        }

        var count = entry.StructuredMetadata.Count;
        if (count == 0 || !Dialect.AtLeast(2, 9))
        {
            return null;
        }

        if (!options.AllowStructuredMetadata)
        {
            return LokiMessages.StructuredMetadataDisallowed(Dialect, stream);
        }

        if (Dialect.Major < 3)
        {
            return null;
        }

        var size = MetadataBytes(entry);
        if (options.MaxStructuredMetadataBytes > 0 && size > options.MaxStructuredMetadataBytes)
        {
            return LokiMessages.StructuredMetadataTooLarge(Dialect, stream, size, options.MaxStructuredMetadataBytes);
        }

        if (options.MaxStructuredMetadataEntries > 0 && count > options.MaxStructuredMetadataEntries)
        {
            return LokiMessages.StructuredMetadataTooMany(Dialect, stream, count, options.MaxStructuredMetadataEntries);
        }

        return null;
    }

    /// <summary>
    /// What the entry counts against the ingestion rate: its line's bytes, and from 3.3 its structured metadata's
    /// (util.EntryTotalSize in pkg/util/entry_size.go).
    /// </summary>
    public int RateBytes(EntryAdapter entry) =>
        Encoding.UTF8.GetByteCount(entry.Line) + (Dialect.AtLeast(3, 3) ? MetadataBytes(entry) : 0);

    // util.StructuredMetadataSize: names and values in bytes; detected_level left out from 3.3.
    private int MetadataBytes(EntryAdapter entry)
    {
        var size = 0;
        foreach (var pair in entry.StructuredMetadata)
        {
            if (pair.Name == DetectedLevel && Dialect.AtLeast(3, 3))
            {
                continue;
            }

            size += Encoding.UTF8.GetByteCount(pair.Name) + Encoding.UTF8.GetByteCount(pair.Value);
        }

        return size;
    }

    public readonly record struct Window(long OldestNs, long NewestNs);
}
