using System.Globalization;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Support;

/// <summary>
/// What a test server saw sent twice. The server keeps one copy of an identical resend, as Loki does while the first
/// copy is in its stream's head block, so counting what it stored cannot tell a shipper that resends from one that does
/// not. Its duplicate count can: outside a crash, a shipper sends every entry once.
/// </summary>
internal static class Resends
{
    /// <summary>Nothing reached the server twice: no request carried an entry the server already held.</summary>
    public static void AssertNone(TestServer server) => AssertExactly(0, server);

    /// <summary>Exactly <paramref name="expected"/> entries reached the server a second time (a documented resend).</summary>
    public static void AssertExactly(long expected, TestServer server)
    {
        var dropped = server.DuplicatesDropped;
        if (dropped == expected)
        {
            return;
        }

        var requests = server.Requests;
        var resending = requests
            .Select((request, index) => (request, index))
            .Where(r => r.request.Duplicates > 0)
            .Take(10)
            .Select(r => string.Create(CultureInfo.InvariantCulture, $"request {r.index + 1}: {r.request.Entries} entries, {r.request.Stored} stored, {r.request.Duplicates} already held"));
        Assert.Fail($"The server dropped {dropped} identical resends; expected {expected}. Of {requests.Count} requests: {string.Join("; ", resending)}");
    }
}
