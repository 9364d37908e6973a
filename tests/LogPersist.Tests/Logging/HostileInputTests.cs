using System.Text.Json;
using System.Text.RegularExpressions;
using LogPersist.Extensions.Logging;
using LogPersist.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static LogPersist.Tests.Logging.ProviderSetup;

namespace LogPersist.Tests.Logging;

/// <summary>
/// Values that used to hang a log call, exhaust memory or lose the entry (issue 17): each log call returns,
/// writes its entry, marks where it was cut and counts the cut by reason.
/// </summary>
public sealed partial class HostileInputTests : IDisposable
{
    private static readonly string[] CutReasons = ["text_too_long", "too_many_items", "too_deep", "cycle", "entry_budget", "too_many_properties"];

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void A_list_that_contains_itself_is_written_with_each_inner_reference_marked_as_a_cycle()
    {
        var list = new List<object>();
        list.Add(list);
        list.Add(list);
        list.Add(list);

        var logged = LogOne(logger => logger.LogInformation("Value {V}", list));

        var line = Assert.Single(logged.Lines);
        Assert.Equal(["…[cut: cycle]", "…[cut: cycle]", "…[cut: cycle]"], line.GetProperty("V").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(3, line.GetProperty("cut").GetProperty("cycle").GetInt32());
        Assert.Equal(3, logged.Cuts["cycle"]);
        Assert.Equal(0, logged.Dropped);
    }

    [Fact]
    public void A_20_MB_byte_array_is_written_as_base64_cut_at_a_quarter_of_the_entry_budget()
    {
        var bytes = new byte[20 << 20];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        var logged = LogOne(logger => logger.LogInformation("Upload {Body}", bytes));

        var line = Assert.Single(logged.Lines);
        var match = Regex.Match(line.GetProperty("Body").GetString()!, @"^([A-Za-z0-9+/]+) …\[truncated (\d+) bytes\]$");
        Assert.True(match.Success);
        var kept = Convert.FromBase64String(match.Groups[1].Value);
        Assert.Equal(bytes.AsSpan(0, kept.Length).ToArray(), kept);
        Assert.Equal(bytes.Length, kept.Length + long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(match.Groups[1].Value.Length, 200_000, 256 * 1024);
        Assert.Equal(1, line.GetProperty("cut").GetProperty("text_too_long").GetInt32());
        Assert.Equal(1, logged.Cuts["text_too_long"]);
        Assert.Equal(0, logged.Dropped);
    }

    [Fact]
    public void An_endless_sequence_is_enumerated_to_one_item_past_the_cap_and_marked()
    {
        var pulled = 0;
        IEnumerable<int> Endless()
        {
            while (true)
            {
                yield return pulled++;
            }
        }

        var logged = LogOne(logger => logger.LogInformation("Items {Items}", Endless()));

        Assert.Equal(1001, pulled);
        var items = Assert.Single(logged.Lines).GetProperty("Items").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, 1000), items.Take(1000).Select(e => e.GetInt32()));
        Assert.Equal("…[cut: too_many_items]", items[1000].GetString());
        Assert.Equal(1, logged.Cuts["too_many_items"]);
        Assert.Equal(0, logged.Dropped);
    }

    [Fact]
    public void A_100_MB_message_and_a_100_MB_exception_are_cut_with_a_visible_suffix_not_dropped()
    {
        var huge = new string('x', 100_000_000);

        var logged = LogOne(logger =>
        {
            logger.Log(LogLevel.Information, default, huge, null, (state, _) => state);
            logger.LogError(new InvalidOperationException(huge), "Failed");
        });

        Assert.Equal(2, logged.Lines.Count);
        AssertCut(logged.Lines[0].GetProperty("msg").GetString()!, "", 100_000_000);
        AssertCut(logged.Lines[1].GetProperty("exception").GetString()!, "System.InvalidOperationException: ", 100_000_000);
        Assert.All(logged.Lines, line => Assert.Equal(1, line.GetProperty("cut").GetProperty("text_too_long").GetInt32()));
        Assert.Equal(2, logged.Cuts["text_too_long"]);
        Assert.Equal(0, logged.Dropped);

        static void AssertCut(string text, string prefix, int xs)
        {
            var match = Regex.Match(text, @"^(.*?)(x+) …\[truncated (\d+) chars\]$", RegexOptions.Singleline);
            Assert.True(match.Success);
            Assert.Equal(prefix, match.Groups[1].Value);
            Assert.InRange(match.Groups[2].Length, 200_000, 256 * 1024);
            // The exception's text goes on past the message (its stack), so its cut can be longer.
            Assert.True(int.Parse(match.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) >= xs - match.Groups[2].Length);
        }
    }

    [Fact]
    public void Properties_beyond_65535_are_left_out_and_counted()
    {
        var state = Enumerable.Range(0, 70_000).Select(i => new KeyValuePair<string, object?>("P" + i, i)).ToList();
        state.Add(new("{OriginalFormat}", "many properties"));

        var logged = LogOne(logger => logger.Log(LogLevel.Information, default, state, null, (_, _) => "many properties"));

        var line = Assert.Single(logged.Lines);
        Assert.Equal(65_534, line.GetProperty("P65534").GetInt32());
        Assert.False(line.TryGetProperty("P65535", out _));
        Assert.Equal(4_465, line.GetProperty("cut").GetProperty("too_many_properties").GetInt32());
        Assert.Equal(4_465, logged.Cuts["too_many_properties"]);
        Assert.Equal(0, logged.Dropped);
    }

    [Fact]
    public void An_ordinary_call_has_no_cut_field_and_counts_nothing()
    {
        var logged = LogOne(logger => Answered(logger, 7, 201, 12));

        var line = Assert.Single(logged.Lines);
        Assert.False(line.TryGetProperty("cut", out _));
        Assert.Equal("Request 7 answered 201 in 12 ms", line.GetProperty("msg").GetString());
        Assert.All(logged.Cuts.Values, count => Assert.Equal(0, count));
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Request {RequestId} answered {Status} in {ElapsedMs} ms")]
    private static partial void Answered(ILogger logger, int requestId, int status, int elapsedMs);

    /// <summary>Logs through the provider into a WAL of its own (no Loki), then reads its lines back.</summary>
    private Logged LogOne(Action<ILogger> log)
    {
        var services = new ServiceCollection()
            .AddLogging(b => b.AddConfiguration(Configuration(_root.Path, loki: null).GetSection("Logging")).AddLogPersist())
            .BuildServiceProvider();
        var provider = services.GetServices<ILoggerProvider>().OfType<LogPersistLoggerProvider>().Single();
        var directory = provider.WalDirectory;
        using var metrics = MeterRecorder.ForDirectory(directory);

        log(services.GetRequiredService<ILoggerFactory>().CreateLogger("Hostile"));

        var dropped = provider.Pipeline.Wal.Metrics.DroppedTotal();
        var cuts = CutReasons.ToDictionary(reason => reason, reason => metrics.Sum("logpersist.entry.cut", "reason=" + reason));
        services.Dispose();
        return new Logged(WalLines.Read(directory), dropped, cuts);
    }

    private sealed record Logged(List<JsonElement> Lines, long Dropped, Dictionary<string, long> Cuts);
}
