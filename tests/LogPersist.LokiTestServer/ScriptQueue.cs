using System.Collections.Concurrent;

namespace LogPersist.LokiTestServer;

/// <summary>Scripted answers waiting for the next push requests, first in first out. Thread-safe.</summary>
internal sealed class ScriptQueue
{
    private readonly ConcurrentQueue<ScriptedResponse> _queue = new();

    public void Enqueue(IEnumerable<ScriptedResponse> responses)
    {
        foreach (var response in responses)
        {
            ArgumentNullException.ThrowIfNull(response);
            _queue.Enqueue(response);
        }
    }

    public bool TryDequeue(out ScriptedResponse? response) => _queue.TryDequeue(out response);

    public int Count => _queue.Count;

    public void Clear() => _queue.Clear();
}
