using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The texts Loki answers, with where each comes from in grafana/loki (and its dependencies), so that clients
/// matching on them behave against this server as against a real Loki. Bodies end with a newline, as Go's
/// <c>http.Error</c> writes them.
/// </summary>
internal static class LokiMessages
{
    // dskit/weaveworks user.ErrNoOrgID, answered 401 by middleware.AuthenticateUser.
    public const string NoOrgId = "no org id";

    // Not Loki: what the gateway in front of it answers to wrong credentials.
    public const string Unauthorized = "unauthorized";

    // Go's mime.ParseMediaType("") error; pkg/loghttp/push/push.go returns it and distributor/http.go answers 400.
    public const string NoMediaType = "mime: no media type";

    // Go's mime.ParseMediaType error for a type without a slash ("garbage"); other malformed types get it too here.
    public const string BadMediaType = "mime: expected slash after first token";

    // validation.MissingStreamsErrorMsg (pkg/validation/validate.go), answered 422 by distributor.Push (3.4+).
    public const string MissingStreams = "error at least one valid stream is required for ingestion";

    // validation.MissingLabelsErrorMsg (pkg/validation/validate.go), from Validator.ValidateLabels.
    public const string MissingLabels = "error at least one label pair is required per stream";

    // golang/snappy ErrCorrupt, from util.ParseProtoReader with RawSnappy.
    public const string SnappyCorrupt = "snappy: corrupt input";

    // pkg/loghttp/push/push.go, answered 400.
    public static string UnsupportedEncoding(string encoding) => $"Content-Encoding \"{encoding}\" not supported";

    // pkg/loghttp/push/push.go: fmt.Errorf("couldn't parse labels: %w", err), answered 400 for the whole request.
    public static string CouldNotParseLabels(string error) => "couldn't parse labels: " + error;

    // validation.DuplicateLabelNamesErrorMsg (pkg/validation/validate.go).
    public static string DuplicateLabelName(string stream, string name) => $"stream '{stream}' has duplicate label name: '{name}'";

    // distributor/http.go: ErrRequestBodyTooLarge wrapping util.ErrMessageSizeTooLarge with messageSizeLargerErrFmt, answered 413 (3.6+).
    public static string RequestBodyTooLarge(long size, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"request body too large: message size too large than max ({size} vs {max})");

    // A gRPC ResourceExhausted from the ingester hop of a single binary (grpc-go's recv size check), answered 500 by distributor/http.go.
    public static string GrpcLargerThanMax(long size, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"rpc error: code = ResourceExhausted desc = grpc: received message larger than max ({size} vs. {max})");

    // validation.GreaterThanMaxSampleAgeErrorMsg (pkg/validation/validate.go), times as time.RFC3339.
    public static string TimestampTooOld(string stream, long entryNs, long oldestNs) =>
        $"entry for stream '{stream}' has timestamp too old: {GoTime.Rfc3339(entryNs)}, oldest acceptable timestamp is: {GoTime.Rfc3339(oldestNs)}";

    // validation.TooFarInFutureErrorMsg (pkg/validation/validate.go).
    public static string TimestampTooNew(string stream, long entryNs) =>
        $"entry for stream '{stream}' has timestamp too new: {GoTime.Rfc3339(entryNs)}";

    // validation.LineTooLongErrorMsg (pkg/validation/validate.go).
    public static string LineTooLong(int max, string stream, int length) =>
        string.Create(CultureInfo.InvariantCulture, $"Max entry size '{max}' bytes exceeded for stream '{stream}' while adding an entry with length '{length}' bytes");

    // validation.DisallowedStructuredMetadataErrorMsg (pkg/validation/validate.go).
    public static string StructuredMetadataDisallowed(string stream) =>
        $"stream '{stream}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.";

    // chunkenc errTooFarBehind.Error() (pkg/chunkenc/interface.go), from the ingester's stream.go.
    public static string TooFarBehind(long entryNs, long cutoffNs) =>
        $"entry too far behind, entry timestamp is: {GoTime.Rfc3339(entryNs)}, oldest acceptable timestamp is: {GoTime.Rfc3339(cutoffNs)}";

    // One line of the ingester's partial-failure body (pkg/ingester/stream.go, the 2.x form that names the stream on each line).
    public static string IgnoredEntryLine(long entryNs, string reason, string stream) =>
        $"entry with timestamp {GoTime.String(entryNs)} ignored, reason: '{reason}' for stream: {stream},";

    // The last line of that body (pkg/ingester/stream.go).
    public static string TotalIgnored(int refused, int total) =>
        string.Create(CultureInfo.InvariantCulture, $"total ignored: {refused} out of {total}");

    // Not Loki's wording (its limit is max_entries_limit_per_query, default 5000).
    public static string MaxEntriesLimit(int limit, int max) =>
        string.Create(CultureInfo.InvariantCulture, $"max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {max})");
}
