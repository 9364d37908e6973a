using System.Globalization;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The texts Loki answers, with where each comes from in grafana/loki (and its dependencies), so that clients
/// matching on them behave against this server as against a real Loki. Bodies end with a newline, as Go's
/// <c>http.Error</c> writes them. Texts that changed between releases take the dialect.
/// </summary>
internal static partial class LokiMessages
{
    // dskit/weaveworks user.ErrNoOrgID, answered 401 by middleware.AuthenticateUser.
    public const string NoOrgId = "no org id";

    // Not Loki: what the gateway in front of it answers to wrong credentials.
    public const string Unauthorized = "unauthorized";

    // Go's mime.ParseMediaType("") error; pkg/loghttp/push/push.go returns it and distributor/http.go answers 400.
    public const string NoMediaType = "mime: no media type";

    // Go's mime.ParseMediaType error for a type without a slash ("garbage"); other malformed types get it too here.
    public const string BadMediaType = "mime: expected slash after first token";

    // validation.MissingStreamsErrorMsg (pkg/validation/validate.go, v3.4.0+), answered 422 by distributor.Push.
    public const string MissingStreams = "error at least one valid stream is required for ingestion";

    // golang/snappy ErrCorrupt, from util.ParseProtoReader with RawSnappy.
    public const string SnappyCorrupt = "snappy: corrupt input";

    // dskit user.ErrTooManyOrgIDs (vendor/github.com/grafana/dskit/user/id.go, v3.0.0 to v3.7.6), answered 400 by distributor/http.go.
    public const string MultipleOrgIds = "multiple org IDs present";

    // dskit tenant errInvalidTenantID (vendor/github.com/grafana/dskit/tenant/resolver.go, v2.7.7 and v2.9.0): "." or "..".
    public const string InvalidTenantId2x = "invalid tenant ID";

    // dskit tenant errUnsafeTenantID (vendor/github.com/grafana/dskit/tenant/tenant.go, v3.0.0 to v3.7.6).
    public const string UnsafeTenantId = "tenant ID is '.' or '..'";

    // dskit tenant errTenantIDTooLong (vendor/github.com/grafana/dskit/tenant/tenant.go, v3.0.0 to v3.7.6).
    public const string TenantIdTooLong = "tenant ID is too long: max 150 characters";

    // Not Loki: the body of the /login page a gateway redirects to.
    public const string LoginPage = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form method=\"post\" action=\"/login\"><input name=\"user\"><input name=\"password\" type=\"password\"><button>Sign in</button></form></body></html>\n";

    // dskit tenant errTenantIDUnsupportedCharacter (vendor/github.com/grafana/dskit/tenant/tenant.go, v3.0.0 to v3.7.6);
    // %c of the byte at the position, so a non-ASCII character shows as its first UTF-8 byte.
    public static string TenantIdUnsupportedCharacter(string tenant, char character) =>
        $"tenant ID '{tenant}' contains unsupported character '{character}'";

    // pkg/loghttp/push/push.go, answered 400.
    public static string UnsupportedEncoding(string encoding) => $"Content-Encoding \"{encoding}\" not supported";

    // pkg/loghttp/push/push.go: fmt.Errorf("couldn't parse labels: %w", err), answered 400 for the whole request (v2.9.0+).
    public static string CouldNotParseLabels(string error) => "couldn't parse labels: " + error;

    // distributor/http.go: ErrRequestBodyTooLarge wrapping util.ErrMessageSizeTooLarge with messageSizeLargerErrFmt, answered 413 (3.6+).
    public static string RequestBodyTooLarge(long size, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"request body too large: message size too large than max ({size} vs {max})");

    // A gRPC ResourceExhausted from the ingester hop of a single binary (grpc-go's recv size check), answered 500 by distributor/http.go.
    public static string GrpcLargerThanMax(long size, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"rpc error: code = ResourceExhausted desc = grpc: received message larger than max ({size} vs. {max})");

    // validation.RateLimitedErrorMsg (pkg/validation/validate.go), answered 429; "Ingestion" until v3.5.x, "ingestion" from v3.6.0.
    public static string RateLimited(LokiDialect dialect, string tenant, long limit, int lines, long bytes) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{(dialect.AtLeast(3, 6) ? "i" : "I")}ngestion rate limit exceeded for user {tenant} (limit: {limit} bytes/sec) while attempting to ingest '{lines}' lines totaling '{bytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased");

    // validation.BlockedIngestionErrorMsg (pkg/validation/validate.go, v3.2.0+): the user in quotes from v3.7.0; the time as time.RFC3339.
    public static string BlockedIngestion(LokiDialect dialect, string tenant, DateTimeOffset until, int status) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"ingestion blocked for user {(dialect.AtLeast(3, 7) ? $"'{tenant}'" : tenant)} until '{GoTime.Rfc3339(until)}' with status code '{status}'");

    // Not Loki's wording (its limit is max_entries_limit_per_query, default 5000).
    public static string MaxEntriesLimit(int limit, int max) =>
        string.Create(CultureInfo.InvariantCulture, $"max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {max})");
}
