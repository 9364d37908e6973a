namespace LogPersist.LokiTestServer;

/// <summary>One push request as the server saw and answered it, scripted answers included.</summary>
/// <param name="Status">The status answered; 0 when the connection was reset instead.</param>
/// <param name="ContentType">The Content-Type header, if any.</param>
/// <param name="ContentEncoding">The Content-Encoding header, if any.</param>
/// <param name="Tenant">The X-Scope-OrgID header as sent, or null without one.</param>
/// <param name="Authorization">The Authorization header, if any.</param>
/// <param name="Headers">Every request header (values of a repeated header joined with ", ").</param>
/// <param name="BodyBytes">The body's length as sent (compressed).</param>
/// <param name="Streams">Streams decoded from the body; 0 when it was not decoded.</param>
/// <param name="Entries">Entries decoded from the body; 0 when it was not decoded.</param>
/// <param name="Refused">
/// Entries of a decoded request that were not stored for a reason (refused one by one, with their stream, or with the
/// whole request); duplicates are not refusals. This is the server's truth: a 400 body may show fewer, or none.
/// </param>
/// <param name="ResponseBody">The body answered (empty for a generated one).</param>
/// <param name="Stored">Entries of the request that were stored.</param>
/// <param name="Duplicates">Entries of the request dropped as duplicates of stored ones.</param>
public sealed record ReceivedRequest(
    int Status,
    string? ContentType,
    string? ContentEncoding,
    string? Tenant,
    string? Authorization,
    IReadOnlyDictionary<string, string> Headers,
    long BodyBytes,
    int Streams,
    int Entries,
    int Refused,
    string ResponseBody,
    int Stored,
    int Duplicates);
