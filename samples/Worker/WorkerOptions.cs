namespace Worker;

/// <summary>The <c>Worker</c> section: how many tasks to run and how long each takes.</summary>
internal sealed class WorkerOptions
{
    /// <summary>Tasks to process before the worker stops; 0 runs until Ctrl+C or SIGTERM.</summary>
    public int Tasks { get; set; }

    /// <summary>Simulated work per task.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(200);
}
