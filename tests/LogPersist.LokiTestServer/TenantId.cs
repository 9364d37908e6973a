using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The X-Scope-OrgID checks Loki makes before reading a push (distributor/http.go calls dskit's <c>tenant.TenantID</c>,
/// answered 400). 2.x refuses only <c>.</c> and <c>..</c>. 3.0 to 3.6 split on <c>|</c>, check every part (characters
/// <c>a-zA-Z0-9!-_.*'()</c>, at most 150 bytes, not <c>.</c> or <c>..</c>) and refuse more than one distinct tenant.
/// 3.7 checks only the first part, strips a <c>:subtenant</c>, and refuses a later part naming another tenant.
/// </summary>
internal static class TenantId
{
    private const int MaxLength = 150;

    /// <summary>Returns the tenant the push is stored under, or null with Loki's message in <paramref name="error"/>.</summary>
    public static string? Resolve(string orgId, LokiDialect dialect, out string? error)
    {
        error = null;
        if (dialect.Major < 3)
        {
            if (orgId is "." or "..")
            {
                error = LokiMessages.InvalidTenantId2x;
                return null;
            }

            return orgId;
        }

        if (dialect.AtLeast(3, 7))
        {
            var parts = orgId.Split('|');
            var tenant = WithoutSubtenant(parts[0]);
            if (Check(tenant) is { } invalid)
            {
                error = invalid;
                return null;
            }

            if (parts.Skip(1).Any(part => WithoutSubtenant(part) != tenant))
            {
                error = LokiMessages.MultipleOrgIds;
                return null;
            }

            return tenant;
        }

        var ids = orgId.Split('|');
        foreach (var id in ids)
        {
            if (Check(id) is { } invalid)
            {
                error = invalid;
                return null;
            }
        }

        var distinct = ids.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count > 1)
        {
            error = LokiMessages.MultipleOrgIds;
            return null;
        }

        return distinct[0];
    }

    // dskit tenant.ValidTenantID: characters first, then the length in bytes, then the unsafe path segments.
    private static string? Check(string id)
    {
        var bytes = Encoding.UTF8.GetBytes(id);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (!IsSupported(bytes[i]))
            {
                return LokiMessages.TenantIdUnsupportedCharacter(id, (char)bytes[i]);
            }
        }

        if (bytes.Length > MaxLength)
        {
            return LokiMessages.TenantIdTooLong;
        }

        return id is "." or ".." ? LokiMessages.UnsafeTenantId : null;
    }

    private static bool IsSupported(byte c) =>
        c is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'*' or (byte)'\'' or (byte)'(' or (byte)')';

    private static string WithoutSubtenant(string orgId)
    {
        var colon = orgId.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? orgId : orgId[..colon];
    }
}
