using LogPersist.Loki;

namespace LogPersist.Tests.Loki;

public class ResponseClassifierTests
{
    private static PushClassification Classify(int status, string body = "", int sent = 10) =>
        ResponseClassifier.Classify(new PushResponse(status, body, null, status == 0 ? "refused" : null), sent);

    [Theory]
    [InlineData(200, PushVerdict.Accepted)]
    [InlineData(204, PushVerdict.Accepted)]
    [InlineData(429, PushVerdict.Retry)]
    [InlineData(500, PushVerdict.Retry)]
    [InlineData(503, PushVerdict.Retry)]
    [InlineData(0, PushVerdict.Retry)]
    [InlineData(413, PushVerdict.TooLarge)]
    [InlineData(422, PushVerdict.Empty)]
    [InlineData(401, PushVerdict.Misconfigured)]
    [InlineData(404, PushVerdict.Misconfigured)]
    public void Status_codes_map_to_what_the_shipper_does(int status, object verdict) =>
        Assert.Equal((PushVerdict)verdict, Classify(status).Verdict);

    [Fact]
    public void A_500_saying_larger_than_max_means_split()
    {
        var result = Classify(500, "rpc error: code = ResourceExhausted desc = grpc: received message larger than max (5000000 vs. 4194304)");
        Assert.Equal(PushVerdict.TooLarge, result.Verdict);
    }

    [Fact]
    public void A_partial_400_counts_refused_entries_by_reason()
    {
        const string body = """
            entry with timestamp 2026-01-01 00:00:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-01-01T01:00:00Z' for stream: {pod="a"},
            entry with timestamp 2026-01-01 00:00:01 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-01-01T01:00:00Z' for stream: {pod="a"},
            entry for stream '{pod="a"}' has timestamp too old: 2025-01-01T00:00:00Z, oldest acceptable timestamp is: 2025-12-25T00:00:00Z
            total ignored: 3 out of 10
            """;

        var result = Classify(400, body);

        Assert.Equal(PushVerdict.Refused, result.Verdict);
        Assert.Equal(2, result.RefusedByReason[(int)RefusalReason.TooFarBehind]);
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.TooOld]);
        Assert.Equal(3, result.Refused);
        Assert.Contains("too old", result.LastReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Total_ignored_beyond_the_listed_lines_is_charged_to_other()
    {
        var result = Classify(400, "Max entry size '100' bytes exceeded for stream '{a=\"b\"}' while adding an entry with length '200' bytes\ntotal ignored: 4 out of 10");
        Assert.Equal(1, result.RefusedByReason[(int)RefusalReason.LineTooLong]);
        Assert.Equal(3, result.RefusedByReason[(int)RefusalReason.Other]);
    }

    [Fact]
    public void A_400_for_an_unparseable_label_set_refuses_every_entry_sent()
    {
        var result = Classify(400, "error parsing labels '{bad-label=\"x\"}': parse error at line 1, col 5: unexpected \"-\" in label set", sent: 7);
        Assert.Equal(7, result.Refused);
    }

    [Fact]
    public void A_400_about_disallowed_structured_metadata_asks_for_folding()
    {
        var result = Classify(400, "stream '{a=\"b\"}' includes structured metadata, but this feature is disallowed. Please see `limits_config.structured_metadata` or contact your Loki administrator to enable it.");
        Assert.Equal(PushVerdict.MetadataDisallowed, result.Verdict);
    }
}
