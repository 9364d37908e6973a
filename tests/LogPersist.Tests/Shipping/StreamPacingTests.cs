using LogPersist.Shipping;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Shipping;

/// <summary>The pacing of a stream Loki refused for its rate, on a fake clock.</summary>
public sealed class StreamPacingTests
{
    private const string Stream = "{service_name=\"orders\"}";

    private static string RateRefusal(string limit) =>
        $"entry with timestamp 2026-12-04 08:00:00 +0000 UTC ignored, reason: 'Per stream rate limit exceeded (limit: {limit}/sec) while attempting to ingest for stream '{Stream}' totaling 512B, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased',";

    [Theory]
    [InlineData("3MB", 3L << 20)]
    [InlineData("1536KB", 1536L << 10)]
    [InlineData("10B", 10L)]
    [InlineData("2GB", 2L << 30)]
    public void The_limit_is_read_as_Loki_prints_sizes_in_powers_of_1024(string printed, long bytesPerSecond) =>
        Assert.Equal(bytesPerSecond, StreamPacing.NamedLimit(RateRefusal(printed)));

    [Theory]
    [InlineData("Per stream rate limit exceeded while attempting to ingest")]
    [InlineData("(limit: 3 MB/sec)")]
    [InlineData("(limit: -3MB/sec)")]
    [InlineData("(limit: 3PB/sec)")]
    public void A_body_that_names_no_limit_names_none(string body) => Assert.Null(StreamPacing.NamedLimit(body));

    [Fact]
    public void A_stream_never_refused_is_not_paced()
    {
        var pacing = new StreamPacing(new FakeTimeProvider());

        Assert.Equal(TimeSpan.Zero, pacing.Book(Stream, 100_000_000, TimeSpan.Zero));
        Assert.Null(pacing.BytesPerSecond(Stream));
    }

    [Fact]
    public void After_a_refusal_requests_are_spaced_by_their_bytes_at_the_named_rate()
    {
        var time = new FakeTimeProvider();
        var pacing = new StreamPacing(time);
        pacing.Refused(Stream, RateRefusal("100KB"));

        // Loki's bucket is empty: the first request waits a second; each after it waits for the one before to be paid.
        Assert.Equal(TimeSpan.FromSeconds(1), pacing.Book(Stream, 50 << 10, TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(1.5), pacing.Book(Stream, 100 << 10, TimeSpan.FromSeconds(10)));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(0.5), pacing.Book(Stream, 10 << 10, TimeSpan.FromSeconds(10)));

        // Other streams are not paced.
        Assert.Equal(TimeSpan.Zero, pacing.Book("{service_name=\"other\"}", 1 << 20, TimeSpan.Zero));
    }

    [Fact]
    public void A_wait_longer_than_allowed_books_nothing()
    {
        var time = new FakeTimeProvider();
        var pacing = new StreamPacing(time);
        pacing.Refused(Stream, RateRefusal("1KB"));

        Assert.Equal(TimeSpan.FromSeconds(1), pacing.Book(Stream, 2048, TimeSpan.FromSeconds(2)));
        Assert.Null(pacing.Book(Stream, 1, TimeSpan.FromSeconds(2)));

        // What was refused was not booked: once the first is paid for, the next goes at once.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.Zero, pacing.Book(Stream, 1, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_stream_refused_again_while_paced_is_paced_at_half_the_rate_and_a_quiet_one_no_more()
    {
        var time = new FakeTimeProvider();
        var pacing = new StreamPacing(time);
        pacing.Refused(Stream, RateRefusal("100KB"));
        pacing.Refused(Stream, RateRefusal("100KB"));
        Assert.Equal(50L << 10, pacing.BytesPerSecond(Stream));

        // A refusal naming a lower limit than half wins; one without a limit assumes Loki's default, never faster than the pace.
        pacing.Refused(Stream, RateRefusal("10KB"));
        Assert.Equal(10L << 10, pacing.BytesPerSecond(Stream));
        pacing.Refused(Stream, "429 Too Many Requests");
        Assert.Equal(5L << 10, pacing.BytesPerSecond(Stream));

        time.Advance(StreamPacing.Memory + TimeSpan.FromSeconds(1));
        Assert.Null(pacing.BytesPerSecond(Stream));
        Assert.Equal(0, pacing.Count);
        Assert.Equal(TimeSpan.Zero, pacing.Book(Stream, 1 << 20, TimeSpan.Zero));
    }
}

/// <summary>How a stream over its rate is split, and what Loki's rate refusals say.</summary>
public sealed class StreamShardsTests
{
    [Fact]
    public void An_entry_always_goes_to_the_same_shard_and_entries_logged_together_spread_over_all()
    {
        var start = 1_796_371_200_000_000_000L;
        var shards = Enumerable.Range(0, 1000).Select(i => StreamShards.ShardOf(start + (i * 1_000L))).ToList();

        Assert.Equal(shards, Enumerable.Range(0, 1000).Select(i => StreamShards.ShardOf(start + (i * 1_000L))));
        Assert.All(Enumerable.Range(0, StreamShards.Count), s => Assert.InRange(shards.Count(x => x == s), 150, 350));
    }

    [Fact]
    public void A_split_keeps_each_shards_entries_in_order_under_the_streams_labels_plus_the_shard()
    {
        var labels = LogPersist.Loki.LabelSet.Create([new("service_name", "orders"), new("team", "hot")]);
        var stream = new LogPersist.Loki.PushStream(labels);
        for (var i = 0; i < 100; i++)
        {
            stream.Entries.Add(new LogPersist.Loki.PushEntry(1_796_371_200_000_000_000L + (i * 7_919L), new byte[] { (byte)i }, null));
        }

        var shards = StreamShards.Split(stream);

        Assert.Equal(100, shards.Sum(s => s.Entries.Count));
        Assert.All(shards, s =>
        {
            Assert.Equal(3, s.Labels.Count);
            Assert.Equal("hot", s.Labels.Labels.Single(l => l.Key == "team").Value);
            var shard = int.Parse(s.Labels.Labels.Single(l => l.Key == StreamShards.LabelName).Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.All(s.Entries, e => Assert.Equal(shard, StreamShards.ShardOf(e.TimestampNs)));
            Assert.Equal(s.Entries.Select(e => e.TimestampNs).Order(), s.Entries.Select(e => e.TimestampNs));
        });
        Assert.True(StreamShards.HasRoom(labels, 3));
        Assert.False(StreamShards.HasRoom(labels, 2));
        Assert.False(StreamShards.HasRoom(shards[0].Labels, 15));
    }

    [Fact]
    public void A_stream_is_split_for_an_hour_after_its_last_refusal()
    {
        var time = new FakeTimeProvider();
        var shards = new StreamShards(time);
        Assert.False(shards.IsSplit("a"));

        shards.Refused("a");
        time.Advance(StreamShards.Memory - TimeSpan.FromSeconds(1));
        Assert.True(shards.IsSplit("a"));
        Assert.False(shards.IsSplit("b"));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(shards.IsSplit("a"));
    }

    [Theory]
    [InlineData("user 'fake', total ignored: 12 out of 12 for stream: {a=\"1\"}", true)]
    [InlineData("total ignored: 12 out of 12", true)]
    [InlineData("user 'fake', total ignored: 11 out of 12 for stream: {a=\"1\"}", false)]
    [InlineData("Per stream rate limit exceeded", false)]
    public void Loki_stored_none_of_a_stream_only_when_it_says_it_ignored_all_of_it(string body, bool none) =>
        Assert.Equal(none, LogPersist.Loki.ResponseClassifier.IgnoredAll(body));

    [Theory]
    [InlineData("entry with timestamp 2026-12-04 08:00:00.123456789 +0000 UTC ignored, reason: 'x',", 1_796_371_200_123_456_789L)]
    [InlineData("entry with timestamp 2026-12-04 08:00:00.5 +0000 UTC ignored, reason: 'x',", 1_796_371_200_500_000_000L)]
    [InlineData("entry with timestamp 2026-12-04 08:00:00 +0000 UTC ignored, reason: 'x',", 1_796_371_200_000_000_000L)]
    [InlineData("entry with timestamp 2026-12-04 10:00:00.25 +0200 CEST ignored, reason: 'x',\nentry with timestamp 2026-12-04 08:00:01 +0000 UTC ignored, reason: 'x',", 1_796_371_200_250_000_000L)]
    public void The_first_refused_entry_is_read_as_Go_prints_a_time(string body, long unixNs) =>
        Assert.Equal(unixNs, LogPersist.Loki.ResponseClassifier.FirstIgnoredNs(body));

    [Fact]
    public void A_body_without_a_readable_timestamp_names_no_first_entry() =>
        Assert.Null(LogPersist.Loki.ResponseClassifier.FirstIgnoredNs("entry with timestamp 2026-13-45 99:00:00 +0000 UTC ignored"));
}
