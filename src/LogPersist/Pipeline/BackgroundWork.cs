namespace LogPersist.Pipeline;

/// <summary>
/// The owner of work a pipeline starts on the thread pool (moving on from a fenced WAL): it keeps
/// every task it started, hands each one the same stop token, and stops them all with a deadline.
/// Work that does not end by the deadline is left to finish on its own, already cancelled; a stop
/// never waits longer and never throws.
/// </summary>
internal sealed class BackgroundWork : IDisposable
{
    private readonly object _lock = new();
    private readonly List<Task> _tasks = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private bool _stopping;

    public BackgroundWork(TimeProvider time) => _time = time;

    /// <summary>Tasks started and not yet finished.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _tasks.Count(t => !t.IsCompleted);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool with the stop token. False, and nothing runs,
    /// once a stop has begun. The work must catch its own failures; one that escapes is kept in its task,
    /// never thrown to the thread pool.
    /// </summary>
    public bool Start(Func<CancellationToken, Task> work)
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return false;
            }

            _tasks.RemoveAll(t => t.IsCompleted);
            var token = _stop.Token;
            _tasks.Add(Task.Run(() => work(token)));
            return true;
        }
    }

    /// <summary>Cancels every task and waits for them at most <paramref name="timeout"/>; true when all ended in time.</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        Task[] running;
        lock (_lock)
        {
            _stopping = true;
            running = [.. _tasks];
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(running).WaitAsync(timeout, _time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
#pragma warning disable CA1031 // The work reports its own faults; a stop must not throw them again.
        catch (Exception)
#pragma warning restore CA1031
        {
            return true;
        }
    }

    /// <summary>Releases the stop token; call after <see cref="StopAsync"/>, which has cancelled it.</summary>
    public void Dispose() => _stop.Dispose();
}
