using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The per-entry checks Loki's distributor makes, in its order (pkg/distributor/validator.go ValidateEntry):
/// too old, too new, line too long, structured metadata disallowed. The out-of-order check belongs to the
/// stream and is made by <see cref="EntryStore"/>.
/// </summary>
internal sealed class EntryValidator(LokiTestServerOptions options)
{
    /// <summary>The window of acceptable timestamps for a push arriving now.</summary>
    public Window WindowAt(DateTimeOffset now) => new(
        options.RejectOldSamplesMaxAge > TimeSpan.Zero ? GoTime.ToUnixNs(now - options.RejectOldSamplesMaxAge) : long.MinValue,
        GoTime.ToUnixNs(now + options.CreationGracePeriod));

    /// <summary>Returns Loki's reason for refusing the entry, or null to accept it.</summary>
    public string? Refuse(Window window, string stream, long timestampNs, string line, int metadataCount)
    {
        if (timestampNs < window.OldestNs)
        {
            return LokiMessages.TimestampTooOld(stream, timestampNs, window.OldestNs);
        }

        if (timestampNs > window.NewestNs)
        {
            return LokiMessages.TimestampTooNew(stream, timestampNs);
        }

        if (options.MaxLineBytes > 0 && line.Length > options.MaxLineBytes / 3 && Encoding.UTF8.GetByteCount(line) is var bytes && bytes > options.MaxLineBytes)
        {
            return LokiMessages.LineTooLong(options.MaxLineBytes, stream, bytes);
        }

        if (metadataCount > 0 && !options.AllowStructuredMetadata)
        {
            return LokiMessages.StructuredMetadataDisallowed(stream);
        }

        return null;
    }

    public readonly record struct Window(long OldestNs, long NewestNs);
}
