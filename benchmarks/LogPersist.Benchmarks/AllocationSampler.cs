using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace LogPersist.Benchmarks;

/// <summary>
/// Which types the allocations are, from the runtime's allocation ticks (one event about every
/// 100 KB allocated, naming the type that crossed the mark): a sample, proportional to bytes.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, int> _ticks = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.PayloadNames?.IndexOf("TypeName") is { } i and >= 0)
        {
            _ticks.AddOrUpdate(e.Payload![i] as string ?? "?", 1, (_, n) => n + 1);
        }
    }

    public string Top(int count) =>
        string.Join(", ", _ticks.OrderByDescending(p => p.Value).Take(count).Select(p => $"{p.Key} ×{p.Value}"));
}
