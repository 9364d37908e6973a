namespace LogPersist.LokiTestServer;

/// <summary>Every push request answered, in order. Thread-safe.</summary>
internal sealed class RequestLog
{
    private readonly object _gate = new();
    private readonly List<ReceivedRequest> _requests = [];

    public void Add(ReceivedRequest request)
    {
        lock (_gate)
        {
            _requests.Add(request);
        }
    }

    public ReceivedRequest[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _requests];
        }
    }
}
