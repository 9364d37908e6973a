using System.Net;
using System.Text.Json;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary><c>query_range</c> over what was stored, with the labels Loki stored (service_name included).</summary>
public sealed class QueryRangeTests
{
    [Fact]
    public async Task Query_range_selects_by_matchers_time_range_limit_and_direction()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"a\", level=\"warn\"}", Entry(Ns(TimeSpan.FromSeconds(-4)), "w1"), Entry(Ns(TimeSpan.FromSeconds(-2)), "w2")),
            Stream("{app=\"a\", level=\"error\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "e1"), Entry(Ns(TimeSpan.FromSeconds(-1)), "e2", ("trace_id", "t"))),
            Stream("{app=\"a\", level=\"info\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "i1")),
            Stream("{app=\"b\", level=\"warn\"}", Entry(Ns(TimeSpan.FromSeconds(-3)), "other app")))));

        var forward = await QueryAsync(http, server, "{app=\"a\", level=~\"warn|error\"}", Ns(TimeSpan.FromSeconds(-4)), Ns(TimeSpan.FromSeconds(-1)), 10, "forward");
        var backward = await QueryAsync(http, server, "{service_name=\"a\",level!=\"info\"}", Ns(TimeSpan.FromSeconds(-10)), Ns(TimeSpan.Zero), 2, "backward");

        Assert.Equal(["{app=a, level=warn, service_name=a}: w1 w2", "{app=a, level=error, service_name=a}: e1"], forward);
        Assert.Equal(["{app=a, level=error, service_name=a, trace_id=t}: e2", "{app=a, level=warn, service_name=a}: w2"], backward);
    }

    [Fact]
    public async Task Query_range_answers_loki_json_shape_and_refuses_a_bad_selector()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var ns = Ns(TimeSpan.Zero);
        await PushAsync(http, server, Protobuf(Request(Stream("{app=\"a\"}", Entry(ns, "line")))));

        var json = await http.GetStringAsync(new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString("{app=\"a\"}")}&start={ns}&end={ns + 1}&limit=5&direction=forward"));
        using var bad = await http.GetAsync(new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString("{app=\"a\"")}"));

        Assert.Equal($$$"""{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"a","service_name":"a"},"values":[["{{{ns}}}","line"]]}]}}""", json);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private static async Task<List<string>> QueryAsync(HttpClient http, TestServer server, string query, long start, long end, int limit, string direction)
    {
        var uri = new Uri(server.BaseAddress, $"loki/api/v1/query_range?query={Uri.EscapeDataString(query)}&start={start}&end={end}&limit={limit}&direction={direction}");
        using var document = JsonDocument.Parse(await http.GetStringAsync(uri));
        Assert.Equal("success", document.RootElement.GetProperty("status").GetString());
        return document.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(result =>
                "{" + string.Join(", ", result.GetProperty("stream").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}")) + "}: "
                + string.Join(' ', result.GetProperty("values").EnumerateArray().Select(v => v[1].GetString())))
            .ToList();
    }
}
