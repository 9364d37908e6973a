using LogPersist.Loki;

namespace LogPersist.Tests.Loki;

/// <summary>
/// Loki's answers, with its own words. Message texts are facts from grafana/loki: pkg/validation/validate.go
/// (v2.7.7, v2.9.0, v3.0.0, v3.7.6), pkg/util/errors.go GroupedErrors (3.x), pkg/ingester/stream.go
/// (2.7.7: lines naming the stream and "total ignored: N out of M"; 3.x: "user 'x', total ignored: N out of M for
/// stream: {…}"), pkg/chunkenc/interface.go (errTooFarBehind), pkg/loghttp/push/push.go ("couldn't parse labels"),
/// dskit tenant/tenant.go and user/id.go.
/// </summary>
public class ResponseClassifierTests
{
    private const string PodA = "{pod=\"a\", service_name=\"api\"}";
    private const string PodB = "{pod=\"b\", service_name=\"api\"}";

    private static List<PushStream> Streams(params (string Pod, int Entries)[] streams) =>
        streams.Select(s =>
        {
            var stream = new PushStream(LabelSet.Create([new("service_name", "api"), new("pod", s.Pod)]));
            for (var i = 0; i < s.Entries; i++)
            {
                stream.Entries.Add(new PushEntry(1_700_000_000_000_000_000 + i, System.Text.Encoding.UTF8.GetBytes("line " + i), null));
            }

            return stream;
        }).ToList();

    private static PushClassification Classify(int status, string body = "", List<PushStream>? streams = null, bool truncated = false) =>
        ResponseClassifier.Classify(new PushResponse(status, body, null, status == 0 ? "refused" : null) { BodyTruncated = truncated }, streams ?? Streams(("a", 10)));

    [Theory]
    [InlineData(200, PushVerdict.Accepted)]
    [InlineData(204, PushVerdict.Accepted)]
    [InlineData(201, PushVerdict.Blocked)]
    [InlineData(202, PushVerdict.Blocked)]
    [InlineData(260, PushVerdict.Blocked)]
    [InlineData(301, PushVerdict.Misconfigured)]
    [InlineData(302, PushVerdict.Misconfigured)]
    [InlineData(307, PushVerdict.Misconfigured)]
    [InlineData(308, PushVerdict.Misconfigured)]
    [InlineData(429, PushVerdict.Retry)]
    [InlineData(408, PushVerdict.Retry)]
    [InlineData(500, PushVerdict.Retry)]
    [InlineData(503, PushVerdict.Retry)]
    [InlineData(0, PushVerdict.Retry)]
    [InlineData(413, PushVerdict.TooLarge)]
    [InlineData(422, PushVerdict.Misconfigured)]
    [InlineData(401, PushVerdict.Misconfigured)]
    [InlineData(403, PushVerdict.Misconfigured)]
    [InlineData(404, PushVerdict.Misconfigured)]
    public void Status_codes_map_to_what_the_shipper_does(int status, object verdict) =>
        Assert.Equal((PushVerdict)verdict, Classify(status).Verdict);

    [Fact]
    public void Only_200_and_204_are_retried_by_nobody()
    {
        Assert.False(ResponseClassifier.IsRetryable(new PushResponse(204, "", null, null)));
        Assert.True(ResponseClassifier.IsRetryable(new PushResponse(260, "ingestion blocked for user 'fake' until '2030-01-01T00:00:00Z' with status code '260'", null, null)));
        Assert.True(ResponseClassifier.IsRetryable(new PushResponse(302, "", null, null)));
        Assert.True(ResponseClassifier.IsRetryable(new PushResponse(400, "<html><body>400 Bad Request</body></html>", null, null)));
        Assert.False(ResponseClassifier.IsRetryable(new PushResponse(400, "entry for stream '{a=\"b\"}' has timestamp too new: 2030-01-01T00:00:00Z", null, null)));
    }

    [Fact]
    public void A_260_says_until_when_ingestion_is_blocked()
    {
        // validation.BlockedIngestionErrorMsg (3.2+), the time formatted as RFC 3339 (pkg/distributor/validator.go).
        var result = Classify(260, "ingestion blocked for user 'fake' until '2026-12-03T20:00:00Z' with status code '260'\n");
        Assert.Equal(PushVerdict.Blocked, result.Verdict);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 20, 0, 0, TimeSpan.Zero), result.BlockedUntil);
        Assert.Equal(0, result.Refused);
    }

    [Fact]
    public void A_redirect_names_the_host_it_points_to_and_nothing_else()
    {
        var result = ResponseClassifier.Classify(new PushResponse(302, "<html>login</html>", null, null) { LocationHost = "sso.example:8443" }, Streams(("a", 3)));
        Assert.Equal(PushVerdict.Misconfigured, result.Verdict);
        Assert.Contains("sso.example:8443", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("login", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_500_saying_larger_than_max_means_split()
    {
        var result = Classify(500, "rpc error: code = ResourceExhausted desc = grpc: received message larger than max (5000000 vs. 4194304)");
        Assert.Equal(PushVerdict.TooLarge, result.Verdict);
    }

    [Fact]
    public void Loki_3_grouped_distributor_errors_are_counted_per_group()
    {
        var body = $"2 errors like: entry for stream '{PodA}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z; "
            + $"3 errors like: max entry size '262144' bytes exceeded for stream '{PodA}' while adding an entry with length '300000' bytes; "
            + $"1 errors like: entry for stream '{PodA}' has timestamp too new: 2030-01-01T00:00:00Z\n";

        var result = Classify(400, body);

        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(2, result.RefusedByReason[(int)RefusalReason.TooOld]);
        Assert.Equal(3, result.RefusedByReason[(int)RefusalReason.LineTooLong]);
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.TooNew]);
        Assert.Equal(6, result.Refused);
    }

    [Fact]
    public void A_lone_error_is_one_refusal_in_3x()
    {
        var result = Classify(400, $"entry for stream '{PodA}' has timestamp too old: 2023-11-14T22:13:20Z, oldest acceptable timestamp is: 2023-11-01T00:00:00Z\n");
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.TooOld]);
        Assert.Equal(1, result.Refused);
    }

    /// <summary>Loki 2.7 answers only its last validation error (pkg/distributor/distributor.go, v2.7.7): the limit it states counts the others.</summary>
    [Theory]
    [InlineData("entry for stream '{0}' has timestamp too old: 2023-11-14T22:13:21Z, oldest acceptable timestamp is: 2023-11-14T22:13:23Z", RefusalReason.TooOld, 4)]
    [InlineData("entry for stream '{0}' has timestamp too new: 2023-11-14T22:13:27Z", RefusalReason.TooNew, 3)]
    [InlineData("Max entry size '105' bytes exceeded for stream '{0}' while adding an entry with length '109' bytes", RefusalReason.LineTooLong, 4)]
    public void A_lone_error_counts_every_entry_beyond_the_limit_it_states(string template, object reasonValue, int refused)
    {
        // Ten entries one second apart from 2023-11-14T22:13:20Z, lines of 100 to 109 bytes.
        var stream = new PushStream(LabelSet.Create([new("service_name", "api"), new("pod", "a")]));
        for (var i = 0; i < 10; i++)
        {
            stream.Entries.Add(new PushEntry(1_700_000_000_000_000_000 + (i * 1_000_000_000L), System.Text.Encoding.UTF8.GetBytes(new string('x', 100 + i)), null));
        }

        var result = ResponseClassifier.Classify(new PushResponse(400, string.Format(System.Globalization.CultureInfo.InvariantCulture, template, PodA) + "\n", null, null), [stream]);

        Assert.Equal(refused, result.RefusedByReason[(int)(RefusalReason)reasonValue]);
        Assert.Equal(refused, result.Refused);
    }

    [Fact]
    public void Loki_2_7_lines_each_count_one_refusal()
    {
        var body = $"Max entry size '100' bytes exceeded for stream '{PodA}' while adding an entry with length '200' bytes\n"
            + $"entry for stream '{PodA}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z\n";
        var result = Classify(400, body);
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.LineTooLong]);
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.TooOld]);
    }

    [Fact]
    public void The_3x_ingester_body_charges_the_unlisted_remainder_to_the_listed_reason()
    {
        var body = string.Concat(Enumerable.Range(0, 10).Select(i =>
                $"entry with timestamp 2026-01-01 00:00:0{i} +0000 UTC ignored, reason: 'entry too far behind, entry timestamp is: 2026-01-01T00:00:0{i}Z, oldest acceptable timestamp is: 2026-01-01T01:00:00Z',\n"))
            + $"user 'fake', total ignored: 25 out of 40 for stream: {PodA}\n";

        var result = Classify(400, body, Streams(("a", 40)));

        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(25, result.RefusedByReason[(int)RefusalReason.TooFarBehind]);
        Assert.Equal(25, result.Refused);
    }

    [Fact]
    public void The_2_7_ingester_body_is_read_too()
    {
        var body = $"entry with timestamp 2026-01-01 00:00:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-01-01T01:00:00Z' for stream: {PodA},\n"
            + $"entry with timestamp 2026-01-01 00:00:01 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-01-01T01:00:00Z' for stream: {PodA},\n"
            + "total ignored: 3 out of 10";
        var result = Classify(400, body);
        Assert.Equal(3, result.RefusedByReason[(int)RefusalReason.TooFarBehind]);
    }

    [Fact]
    public void A_label_value_never_changes_the_reading()
    {
        // A value that reads like a reason, a parse error, or a grouped-error separator, inside the stream Loki names.
        var stream = new PushStream(LabelSet.Create([new("service_name", "api"), new("pod", "parser; 5 errors like: has timestamp too old: couldn't parse labels: ")]));
        for (var i = 0; i < 4; i++)
        {
            stream.Entries.Add(new PushEntry(i, "x"u8.ToArray(), null));
        }

        var body = $"max entry size '262144' bytes exceeded for stream '{stream.Labels.Text}' while adding an entry with length '300000' bytes\n";
        var result = ResponseClassifier.Classify(new PushResponse(400, body, null, null), [stream]);

        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.LineTooLong]);
        Assert.Equal(1, result.Refused);
    }

    [Theory]
    [InlineData("entry for stream '{0}' has 16 label names; limit 15")]
    [InlineData("stream '{0}' has label name too long: 'aaaa'")]
    [InlineData("stream '{0}' has label value too long: 'bbbb'")]
    [InlineData("stream '{0}' has duplicate label name: 'pod'")]
    [InlineData("error parsing labels '{0}' with error: 1:4: parse error: unterminated quoted string")]
    public void A_stream_level_label_error_refuses_that_streams_entries_and_only_those(string template)
    {
        var streams = Streams(("a", 7), ("b", 5));
        var result = Classify(400, "1 errors like: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, template, PodB) + "\n", streams);

        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(5, result.RefusedByReason[(int)RefusalReason.StreamLabels]);
        Assert.Equal(5, result.Refused);
        Assert.Equal(PodB, Assert.Single(result.RejectedStreams).Labels);
    }

    [Fact]
    public void A_stream_level_error_naming_a_stream_not_sent_charges_every_entry()
    {
        var result = Classify(400, "stream '{pod=\"c\"}' has duplicate label name: 'pod'\n", Streams(("a", 7), ("b", 5)));
        Assert.Equal(12, result.Refused);
    }

    [Fact]
    public void Couldnt_parse_labels_splits_a_request_of_several_streams()
    {
        var body = "couldn't parse labels: 1:20: parse error: invalid UTF-8 rune\n";
        Assert.Equal(PushVerdict.SplitByStream, Classify(400, body, Streams(("a", 3), ("b", 4))).Verdict);

        var alone = Classify(400, body, Streams(("a", 3)));
        Assert.Equal(PushVerdict.Refused, alone.Verdict);
        Assert.Equal(3, alone.RefusedByReason[(int)RefusalReason.StreamLabels]);
    }

    [Theory]
    [InlineData("stream '{0}' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it")]
    [InlineData("stream '{0}' has structured metadata too large: '70000' bytes, limit: '65536' bytes. Please see `limits_config.max_structured_metadata_size` or contact your Loki administrator to increase it")]
    [InlineData("stream '{0}' has too many structured metadata labels: '130', limit: '128'. Please see `limits_config.max_structured_metadata_entries_count` or contact your Loki administrator to increase it")]
    [InlineData("stream '{0}' includes structured metadata, but this feature is disallowed. Please see `limits_config.structured_metadata` or contact your Loki administrator to enable it.")]
    public void Metadata_refusals_ask_for_folding(string template)
    {
        var result = Classify(400, "3 errors like: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, template, PodA));
        Assert.Equal(PushVerdict.MetadataRefused, result.Verdict);
    }

    [Theory]
    [InlineData("tenant ID 'team a' contains unsupported character ' '")]
    [InlineData("tenant ID is too long: max 150 characters")]
    [InlineData("multiple org IDs present")]
    [InlineData("mime: no media type")]
    [InlineData("Content-Encoding \"br\" not supported")]
    public void Configuration_errors_are_held_never_dropped(string body) =>
        Assert.Equal(PushVerdict.Misconfigured, Classify(400, body + "\n").Verdict);

    [Theory]
    [InlineData("<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>\r\n")]
    [InlineData("")]
    [InlineData("Bad Request")]
    [InlineData("{\"error\":\"invalid request\"}")]
    public void A_400_that_is_not_Lokis_is_held_and_retried(string body)
    {
        var result = Classify(400, body);
        Assert.Equal(PushVerdict.Misconfigured, result.Verdict);
        Assert.Equal(0, result.Refused);
    }

    [Fact]
    public void A_body_mixing_Loki_lines_and_foreign_text_is_not_Lokis()
    {
        var body = $"entry for stream '{PodA}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z\n<html>proxy</html>\n";
        Assert.Equal(PushVerdict.Misconfigured, Classify(400, body).Verdict);
    }

    [Fact]
    public void A_truncated_body_charges_what_it_could_not_show()
    {
        var group = $"1 errors like: entry for stream '{PodA}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z";
        var body = string.Join("; ", Enumerable.Repeat(group, 3)) + "; 1 errors like: entry for stream '{pod=\"a\", serv";
        var result = Classify(400, body, Streams(("a", 10)), truncated: true);
        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(10, result.RefusedByReason[(int)RefusalReason.TooOld]);
    }

    [Fact]
    public void Refusals_never_exceed_the_entries_sent()
    {
        var group = $"4 errors like: entry for stream '{PodA}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z";
        Assert.Equal(3, Classify(400, group, Streams(("a", 3))).Refused);
    }
}
