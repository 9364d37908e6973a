namespace LogPersist.Tests.Support;

/// <summary>Collects the text of every event of the LogPersist EventSource.</summary>
internal sealed class EventCollector : System.Diagnostics.Tracing.EventListener
{
    private readonly List<string> _events;

    public EventCollector(List<string> events)
    {
        _events = events;
        foreach (var source in System.Diagnostics.Tracing.EventSource.GetSources())
        {
            OnEventSourceCreated(source);
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource eventSource)
    {
        if (eventSource.Name == "LogPersist" && _events is not null)
        {
            EnableEvents(eventSource, System.Diagnostics.Tracing.EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs eventData)
    {
        lock (_events)
        {
            _events.Add(string.Join(" | ", eventData.Payload ?? []));
        }
    }
}
