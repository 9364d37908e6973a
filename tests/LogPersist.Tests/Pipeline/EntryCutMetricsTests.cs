using LogPersist.Entries;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Pipeline;

public sealed class EntryCutMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Appending_an_entry_counts_its_cuts_by_reason_on_the_pipelines_meter()
    {
        using var pipeline = LogPipeline.Open(new LogPersistOptions { Directory = _dir.Path, ServiceName = "s", Instance = "i", LokiUrl = "" });
        using var metrics = new MeterRecorder(pipeline.Cuts.Meter);
        var list = new List<object>();
        list.Add(list);
        list.Add(list);
        var encoder = new EntryEncoder(pipeline.EntryLimits);

        for (var i = 0; i < 2; i++)
        {
            encoder.Begin(new EntryHeader { TimestampNs = 1, Level = EntryLevel.Information, CategoryUtf8 = "c"u8, Message = "m" });
            encoder.BeginProperties(2);
            encoder.WriteProperty("V", list);
            encoder.WriteProperty("W", Enumerable.Range(0, 1001));
            encoder.BeginScopes();
            Assert.True(pipeline.Append(encoder));
        }

        Assert.Equal(4, pipeline.Cuts.Cut(CutReason.Cycle));
        Assert.Equal(2, pipeline.Cuts.Cut(CutReason.TooManyItems));
        Assert.Equal(4, metrics.Sum("logpersist.entry.cut", "reason=cycle"));
        Assert.Equal(2, metrics.Sum("logpersist.entry.cut", "reason=too_many_items"));
        Assert.Equal(0, metrics.Sum("logpersist.entry.cut", "reason=entry_budget"));
        Assert.Equal(2, pipeline.Wal.Metrics.AppendedRecords);
    }
}
