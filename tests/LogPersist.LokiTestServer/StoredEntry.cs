namespace LogPersist.LokiTestServer;

/// <summary>One entry the server accepted and keeps.</summary>
/// <param name="Tenant">The X-Scope-OrgID of the push, or "fake" without one.</param>
/// <param name="Labels">The stream's label set in canonical form: sorted by name, <c>{a="x", b="y"}</c>.</param>
/// <param name="LabelMap">The same labels as a map.</param>
/// <param name="TimestampNs">Unix time in nanoseconds.</param>
/// <param name="Line">The log line.</param>
/// <param name="StructuredMetadata">The entry's structured metadata as sent, in order.</param>
public sealed record StoredEntry(
    string Tenant,
    string Labels,
    IReadOnlyDictionary<string, string> LabelMap,
    long TimestampNs,
    string Line,
    IReadOnlyList<KeyValuePair<string, string>> StructuredMetadata);
