using System.Diagnostics.Tracing;

namespace Worker;

/// <summary>
/// Prints where LogPersist put its write-ahead log and where it ships to, as LogPersist reports it
/// when the sink opens (its <c>LogPersist</c> EventSource), so the path is exactly the one in use.
/// </summary>
internal sealed class WalLocation : EventListener
{
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "LogPersist")
        {
            EnableEvents(eventSource, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName == "PipelineStarted" && eventData.Payload is [var directory, var root, var destination, ..])
        {
            Console.WriteLine($"LogPersist WAL: {directory} ({root})");
            Console.WriteLine($"Shipping to:    {destination}");
        }
    }
}
