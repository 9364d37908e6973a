using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>The distributor's validation texts (pkg/validation/validate.go) and the ingester's (pkg/ingester/stream.go, pkg/chunkenc).</summary>
internal static partial class LokiMessages
{
    // validation.MissingLabelsErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6), from Validator.ValidateLabels.
    public const string MissingLabels = "error at least one label pair is required per stream";

    // validation.InvalidLabelsErrorMsg (pkg/validation/validate.go), per stream from distributor.parseStreamLabels; only 2.7 gets
    // that far with a label set it cannot parse (later releases refuse the request in push.go first).
    public static string InvalidLabels(string labels, string error) => $"Error parsing labels '{labels}' with error: {error}";

    // validation.MaxLabelNamesPerSeriesErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6).
    public static string MaxLabelNamesPerSeries(string stream, int count, int limit) =>
        string.Create(CultureInfo.InvariantCulture, $"entry for stream '{stream}' has {count} label names; limit {limit}");

    // validation.LabelNameTooLongErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6).
    public static string LabelNameTooLong(string stream, string name) => $"stream '{stream}' has label name too long: '{name}'";

    // validation.LabelValueTooLongErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6).
    public static string LabelValueTooLong(string stream, string value) => $"stream '{stream}' has label value too long: '{value}'";

    // validation.DuplicateLabelNamesErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6).
    public static string DuplicateLabelName(string stream, string name) => $"stream '{stream}' has duplicate label name: '{name}'";

    // validation.GreaterThanMaxSampleAgeErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6), times as time.RFC3339.
    public static string TimestampTooOld(string stream, long entryNs, long oldestNs) =>
        $"entry for stream '{stream}' has timestamp too old: {GoTime.Rfc3339(entryNs)}, oldest acceptable timestamp is: {GoTime.Rfc3339(oldestNs)}";

    // validation.TooFarInFutureErrorMsg (pkg/validation/validate.go, v2.7.7 to v3.7.6).
    public static string TimestampTooNew(string stream, long entryNs) =>
        $"entry for stream '{stream}' has timestamp too new: {GoTime.Rfc3339(entryNs)}";

    // validation.LineTooLongErrorMsg (pkg/validation/validate.go): "Max entry size" until v3.5.x, "max entry size" from v3.6.0.
    public static string LineTooLong(LokiDialect dialect, int max, string stream, int length) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{(dialect.AtLeast(3, 6) ? "m" : "M")}ax entry size '{max}' bytes exceeded for stream '{stream}' while adding an entry with length '{length}' bytes");

    // validation.DisallowedStructuredMetadataErrorMsg (pkg/validation/validate.go): `limits_config.structured_metadata` in v2.9.0
    // and v3.0.x, `limits_config.allow_structured_metadata` from v3.1.0, the final period dropped in v3.6.0.
    public static string StructuredMetadataDisallowed(LokiDialect dialect, string stream) =>
        $"stream '{stream}' includes structured metadata, but this feature is disallowed. Please see `limits_config.{(dialect.AtLeast(3, 1) ? "allow_structured_metadata" : "structured_metadata")}` or contact your Loki administrator to enable it{Period(dialect)}";

    // validation.StructuredMetadataTooLargeErrorMsg (pkg/validation/validate.go, v3.0.0+): `structured_metadata_max_size` in
    // v3.0.x, `max_structured_metadata_size` from v3.1.0, the final period dropped in v3.6.0.
    public static string StructuredMetadataTooLarge(LokiDialect dialect, string stream, int size, int limit) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"stream '{stream}' has structured metadata too large: '{size}' bytes, limit: '{limit}' bytes. Please see `limits_config.{(dialect.AtLeast(3, 1) ? "max_structured_metadata_size" : "structured_metadata_max_size")}` or contact your Loki administrator to increase it{Period(dialect)}");

    // validation.StructuredMetadataTooManyErrorMsg (pkg/validation/validate.go, v3.0.0+), the final period dropped in v3.6.0.
    public static string StructuredMetadataTooMany(LokiDialect dialect, string stream, int count, int limit) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"stream '{stream}' has too many structured metadata labels: '{count}', limit: '{limit}'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it{Period(dialect)}");

    // chunkenc errTooFarBehind.Error() (pkg/chunkenc/interface.go): the cutoff alone until v3.1.x, the entry's timestamp too from v3.2.0.
    public static string TooFarBehind(LokiDialect dialect, long entryNs, long cutoffNs) =>
        dialect.AtLeast(3, 2)
            ? $"entry too far behind, entry timestamp is: {GoTime.Rfc3339(entryNs)}, oldest acceptable timestamp is: {GoTime.Rfc3339(cutoffNs)}"
            : $"entry too far behind, oldest acceptable timestamp is: {GoTime.Rfc3339(cutoffNs)}";

    // One line of the ingester's partial-failure body, errorForFailedEntries in pkg/ingester/stream.go: v2.7.7 names the stream on
    // every line, v2.9.0 to v3.7.6 do not.
    public static string IgnoredEntryLine(LokiDialect dialect, long entryNs, string reason, string stream) =>
        dialect.AtLeast(2, 9)
            ? $"entry with timestamp {GoTime.String(entryNs)} ignored, reason: '{reason}',"
            : $"entry with timestamp {GoTime.String(entryNs)} ignored, reason: '{reason}' for stream: {stream},";

    // The last line of that body (pkg/ingester/stream.go): v2.7.7 "total ignored: N out of M", v2.9.0 to v3.7.6 add the tenant and the stream.
    public static string TotalIgnored(LokiDialect dialect, string tenant, int refused, int total, string stream) =>
        dialect.AtLeast(2, 9)
            ? string.Create(CultureInfo.InvariantCulture, $"user '{tenant}', total ignored: {refused} out of {total} for stream: {stream}")
            : string.Create(CultureInfo.InvariantCulture, $"total ignored: {refused} out of {total}");

    private static string Period(LokiDialect dialect) => dialect.AtLeast(3, 6) ? "" : ".";
}
