using LogPersist.Tests.Support;
using Serilog;

namespace LogPersist.Tests.Serilog;

/// <summary>Serilog events too large for an entry are cut, marked and counted like log calls, never dropped.</summary>
public sealed class HostileEventTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void A_long_sequence_and_a_huge_string_are_cut_marked_and_counted()
    {
        var huge = new string('y', 3_000_000);
        string directory;
        long cutItems, cutTexts;
        using (var logger = new LoggerConfiguration().WriteTo.LogPersist(o =>
        {
            o.Directory = _root.Path;
            o.ServiceName = "orders";
            o.Instance = "orders-7";
            o.LokiUrl = "";
            o.SegmentBytes = 4 << 20;
            o.MaxDiskBytes = 16 << 20;
        }).CreateLogger())
        {
            directory = WalLines.InstanceDirectory(_root.Path);
            using var metrics = MeterRecorder.ForDirectory(directory);
            logger.Information("Items {Items} and {Text}", Enumerable.Range(0, 5000), huge);
            cutItems = metrics.Sum("logpersist.entry.cut", "reason=too_many_items");
            cutTexts = metrics.Sum("logpersist.entry.cut", "reason=text_too_long");
        }

        var line = Assert.Single(WalLines.Read(directory));
        var items = line.GetProperty("Items").EnumerateArray().ToList();
        Assert.Equal(1001, items.Count);
        Assert.Equal(999, items[999].GetInt32());
        Assert.Equal("…[cut: too_many_items]", items[1000].GetString());
        Assert.Matches(@"^y+ …\[truncated \d+ chars\]$", line.GetProperty("Text").GetString());
        // Serilog renders the message with the string in it: that text is cut too.
        Assert.EndsWith(" chars]", line.GetProperty("msg").GetString(), StringComparison.Ordinal);
        Assert.Equal("""{"text_too_long":2,"too_many_items":1}""", line.GetProperty("cut").GetRawText());
        Assert.Equal((1, 2), (cutItems, cutTexts));
    }
}
