using System.Net;
using LogPersist.LokiTestServer;
using static LogPersist.Tests.LokiServer.Pushes;
using static LogPersist.Tests.LokiServer.ServerTesting;

namespace LogPersist.Tests.LokiServer;

/// <summary>
/// A label set Loki cannot parse (Prometheus' lexer and grammar) refuses the whole request from 2.9 on, with the
/// parser's first error; 2.7 refuses only that stream. U+FFFD and invalid UTF-8 fail the lexer in every release.
/// </summary>
public sealed class LabelParsingTests
{
    [Theory]
    [InlineData("{bad-label=\"x\"}", "1:5: parse error: unexpected character inside braces: '-'")]
    [InlineData("{1app=\"x\"}", "1:2: parse error: unexpected character inside braces: '1'")]
    [InlineData("app=\"x\"", "1:4: parse error: unexpected \"=\"")]
    [InlineData("{app=\"x\\q\"}", "1:6: parse error: unknown escape sequence U+0071 'q'")]
    [InlineData("{app=\"x}", "1:6: parse error: unterminated quoted string")]
    [InlineData("{app=\"x\"", "1:9: parse error: unexpected end of input inside braces")]
    [InlineData("{app=x}", "1:6: parse error: unexpected identifier \"x\" in label set, expected string")]
    [InlineData("{app}", "1:5: parse error: unexpected \"}\" in label set, expected \"=\"")]
    [InlineData("{app=\"x\" level=\"y\"}", "1:10: parse error: unexpected identifier \"level\" in label set, expected \",\" or \"}\"")]
    [InlineData("{,}", "1:2: parse error: unexpected \",\" in label set, expected identifier or \"}\"")]
    [InlineData("{app=\"a\uFFFDb\"}", "1:6: parse error: invalid UTF-8 rune")]
    [InlineData("{zone=\"é\", app=\"\uFFFD\"}", "1:17: parse error: invalid UTF-8 rune")]
    [InlineData("{app=`raw\uFFFD`}", "1:6: parse error: invalid UTF-8 rune")]
    public async Task Unparsable_label_set_refuses_the_whole_request_400(string labels, string expected)
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"fine\"}", Entry(Ns(TimeSpan.Zero), "kept only if the request is")),
            Stream(labels, Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal((HttpStatusCode.BadRequest, "couldn't parse labels: " + expected + "\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
        Assert.Equal((2, 0), (server.Requests[0].Refused, server.Requests[0].Stored));
    }

    [Fact]
    public async Task Invalid_utf8_in_a_protobuf_label_value_is_refused_like_U_FFFD()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();
        var good = Request(Stream("{app=\"ab\"}", Entry(Ns(TimeSpan.Zero), "line")));
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(good);
        var at = Array.IndexOf(bytes, (byte)'a', Array.IndexOf(bytes, (byte)'"'));
        bytes[at] = 0xFF;

        var (status, body) = await PushAsync(http, server, RawProtobuf(bytes));

        Assert.Equal((HttpStatusCode.BadRequest, "couldn't parse labels: 1:6: parse error: invalid UTF-8 rune\n"), (status, body));
    }

    [Fact]
    public async Task Loki_2_9_also_refuses_U_FFFD_for_the_whole_request()
    {
        await using var server = await StartAsync(LokiDialect.V2_9);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"fine\"}", Entry(Ns(TimeSpan.Zero), "line")),
            Stream("{app=\"\uFFFD\"}", Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal((HttpStatusCode.BadRequest, "couldn't parse labels: 1:6: parse error: invalid UTF-8 rune\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }

    [Fact]
    public async Task Loki_2_7_refuses_only_the_stream_it_cannot_parse()
    {
        await using var server = await StartAsync(LokiDialect.V2);
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"\uFFFD\"}", Entry(Ns(TimeSpan.Zero), "refused")),
            Stream("{app=\"fine\"}", Entry(Ns(TimeSpan.Zero), "stored")))));

        Assert.Equal((HttpStatusCode.BadRequest, "Error parsing labels '{app=\"\uFFFD\"}' with error: 1:6: parse error: invalid UTF-8 rune\n"), (status, body));
        Assert.Equal("stored", Assert.Single(server.Entries).Line);
    }

    [Fact]
    public async Task Go_escapes_single_quotes_backticks_and_a_trailing_comma_are_accepted()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, _) = await PushAsync(http, server, Protobuf(Request(
            Stream("{app=\"tab\\there \\u00e9 \\x41\", b='single \"q\"', c=`raw\\n`,}", Entry(Ns(TimeSpan.Zero), "line")))));

        Assert.Equal(HttpStatusCode.NoContent, status);
        var entry = Assert.Single(server.Entries);
        Assert.Equal(("tab\there é A", "single \"q\"", "raw\\n"), (entry.LabelMap["app"], entry.LabelMap["b"], entry.LabelMap["c"]));
        Assert.Equal("{app=\"tab\\there é A\", b=\"single \\\"q\\\"\", c=\"raw\\\\n\", service_name=\"tab\\there é A\"}", entry.Labels);
    }

    [Fact]
    public async Task Quoted_label_names_parse_from_3_5_and_not_before()
    {
        await using var v36 = await StartAsync();
        await using var v30 = await StartAsync(LokiDialect.Of(3, 0));
        using var http = new HttpClient();
        HttpContent Body() => Protobuf(Request(Stream("{\"service.name\"=\"x\"}", Entry(Ns(TimeSpan.Zero), "line"))));

        var accepted = await PushAsync(http, v36, Body());
        var refused = await PushAsync(http, v30, Body());

        Assert.Equal(HttpStatusCode.NoContent, accepted.Status);
        Assert.Equal("{\"service.name\"=\"x\", service_name=\"unknown_service\"}", Assert.Single(v36.Entries).Labels);
        Assert.Equal(
            (HttpStatusCode.BadRequest, "couldn't parse labels: 1:2: parse error: unexpected string \"\\\"service.n\"... in label set, expected identifier or \"}\"\n"),
            refused);
    }

    [Fact]
    public async Task Json_label_name_that_is_not_a_prometheus_name_is_refused_400()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient();

        var (status, body) = await PushAsync(http, server, Json($$"""{"streams":[{"stream":{"service.name":"x"},"values":[["{{Ns(TimeSpan.Zero)}}","line"]]}]}"""));

        Assert.Equal((HttpStatusCode.BadRequest, "couldn't parse labels: 1:9: parse error: unexpected character inside braces: '.'\n"), (status, body));
        Assert.Equal(0, server.EntryCount);
    }
}
