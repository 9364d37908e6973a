using Microsoft.AspNetCore.Connections;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The client connections the server holds open. A connection ends only after every request that arrived on it was
/// answered and recorded, so once a killed client's connections are all closed, what it had sent before it died is
/// known: nothing of it is still on its way.
/// </summary>
internal sealed class ConnectionCount
{
    private readonly object _gate = new();
    private readonly List<TaskCompletionSource> _waiters = [];
    private int _open;

    public int Open
    {
        get
        {
            lock (_gate)
            {
                return _open;
            }
        }
    }

    /// <summary>Kestrel connection middleware that counts the connection while the rest of the pipeline runs on it.</summary>
    public ConnectionDelegate Track(ConnectionDelegate next) => async context =>
    {
        lock (_gate)
        {
            _open++;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            List<TaskCompletionSource>? idle = null;
            lock (_gate)
            {
                if (--_open == 0)
                {
                    idle = [.. _waiters];
                    _waiters.Clear();
                }
            }

            idle?.ForEach(waiter => waiter.TrySetResult());
        }
    };

    /// <summary>True once no connection is open; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitForNoneAsync(TimeSpan timeout)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_open == 0)
            {
                return true;
            }

            _waiters.Add(waiter);
        }

        try
        {
            await waiter.Task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
                return _open == 0;
            }
        }
    }
}
