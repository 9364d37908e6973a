using System.Text;
using LogPersist.Cli.Run;
using LogPersist.Entries;

namespace LogPersist.Tests.Cli.Run;

public sealed class TextLevelsTests
{
    [Theory]
    [InlineData("I1204 01:02:03.123456  4242 server.cc:87] listening on 0.0.0.0:8080", EntryLevel.Information)]
    [InlineData("W1204 01:02:03.123456  4242 server.cc:87] slow", EntryLevel.Warning)]
    [InlineData("E1204 01:02:03.123456  4242 server.cc:87] failed", EntryLevel.Error)]
    [InlineData("F1204 01:02:03.123456  4242 server.cc:87] Check failed", EntryLevel.Critical)]
    [InlineData("[2026-12-04 01:02:03,123 I 4242 4250] (raylet) main.cc:180: Setting cluster ID", EntryLevel.Information)]
    [InlineData("[2026-12-04 01:02:03,123 W 4242 4250] (gcs_server) gcs.cc:10: late", EntryLevel.Warning)]
    [InlineData("[2026-12-04 01:02:03,123 E 4242 4250] (raylet) x.cc:1: bad", EntryLevel.Error)]
    [InlineData("[2026-12-04 01:02:03,123 C 4242 4250] (raylet) x.cc:1: fatal", EntryLevel.Critical)]
    [InlineData("[2026-12-04 01:02:03,123 D 4242 4250] (raylet) x.cc:1: detail", EntryLevel.Debug)]
    [InlineData("DEBUG:root:connecting", EntryLevel.Debug)]
    [InlineData("INFO:my.module:started", EntryLevel.Information)]
    [InlineData("WARNING:root:disk at 91%", EntryLevel.Warning)]
    [InlineData("ERROR:root:boom", EntryLevel.Error)]
    [InlineData("CRITICAL:root:down", EntryLevel.Critical)]
    [InlineData("2026-12-04 01:02:03,123\tINFO worker.py:1625 -- Started a local Ray instance.", EntryLevel.Information)]
    [InlineData("2026-12-04 01:02:03,123\tWARNING worker.py:2000 -- retrying", EntryLevel.Warning)]
    [InlineData("2026-12-04 01:02:03,123 ERROR something broke", EntryLevel.Error)]
    [InlineData("2026-12-04 01:02:03.123 - CRITICAL - gone", EntryLevel.Critical)]
    public void A_line_in_a_known_format_has_the_level_it_states(string line, EntryLevel level) =>
        Assert.Equal(level, TextLevels.Of(Encoding.UTF8.GetBytes(line)));

    [Theory]
    [InlineData("")]
    [InlineData("ERROR count is 3 today")]
    [InlineData("Information: all good")]
    [InlineData("ERRORS: 3")]
    [InlineData("INFO")]
    [InlineData("X1204 01:02:03.123456 not glog")]
    [InlineData("I12a4 01:02:03.123 not a date")]
    [InlineData("[2026-12-04 01:02:03,123 Z 1 2] unknown letter")]
    [InlineData("2026-12-04 01:02:03,123 the INFO is late")]
    [InlineData("an ERROR: in the middle")]
    [InlineData("{\"level\":\"error\"}")]
    public void A_line_that_only_mentions_a_level_has_none(string line) =>
        Assert.Null(TextLevels.Of(Encoding.UTF8.GetBytes(line)));
}
