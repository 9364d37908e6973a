using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Worker;

/// <summary>
/// A compute worker of the kind that runs on a Ray or GraphScope pod: takes simulated tasks in a loop,
/// logs each with structured properties, warns about slow or retried ones, and logs the failures it
/// recovers from. Stops after <see cref="WorkerOptions.Tasks"/> tasks, or on Ctrl+C / SIGTERM.
/// </summary>
internal sealed partial class TaskWorker(ILogger<TaskWorker> logger, IOptions<WorkerOptions> options, IHostApplicationLifetime lifetime) : BackgroundService
{
    private static readonly string[] Kinds = ["map", "shuffle", "reduce", "graph-scan"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        LogStarted(settings.Tasks);
        var random = new Random(42);
        var done = 0;
        try
        {
            for (var id = 1; settings.Tasks == 0 || id <= settings.Tasks; id++)
            {
                var task = new SimulatedTask(id, Kinds[id % Kinds.Length], Partition: id % 8, Rows: random.Next(1_000, 500_000));
                using (logger.BeginScope(new Dictionary<string, object> { ["TaskId"] = task.Id, ["Partition"] = task.Partition }))
                {
                    await RunAsync(task, settings.Delay, random, stoppingToken);
                }

                done++;
                if (done % 10 == 0)
                {
                    LogProgress(done, settings.Tasks);
                }
            }

            LogFinished(done);
            lifetime.StopApplication();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogStopping(done);
        }
    }

    private async Task RunAsync(SimulatedTask task, TimeSpan delay, Random random, CancellationToken stoppingToken)
    {
        LogTaskStarted(task.Id, task);
        var started = TimeProvider.System.GetTimestamp();
        await Task.Delay(delay * (0.5 + (1.5 * random.NextDouble())), stoppingToken);
        try
        {
            if (task.Id % 7 == 0)
            {
                throw new IOException($"object store spill for partition {task.Partition} failed: no space left on device");
            }
        }
        catch (IOException e)
        {
            LogTaskFailed(e, task.Id, task.Partition);
            return;
        }

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        if (elapsed > delay * 1.5)
        {
            LogTaskSlow(task.Id, elapsed.TotalMilliseconds, task.Rows);
        }

        LogTaskDone(task.Id, task.Kind, task.Rows, elapsed.TotalMilliseconds);
    }

    [LoggerMessage(1, LogLevel.Information, "Worker started for {Tasks} tasks (0: until stopped)")]
    private partial void LogStarted(int tasks);

    [LoggerMessage(2, LogLevel.Information, "Progress: {Done} tasks done of {Total}")]
    private partial void LogProgress(int done, int total);

    [LoggerMessage(3, LogLevel.Information, "All {Done} tasks done; stopping")]
    private partial void LogFinished(int done);

    [LoggerMessage(4, LogLevel.Warning, "Stopping on request after {Done} tasks")]
    private partial void LogStopping(int done);

    [LoggerMessage(10, LogLevel.Debug, "Task {TaskId} ({@Task}) started")]
    private partial void LogTaskStarted(int taskId, SimulatedTask task);

    [LoggerMessage(11, LogLevel.Information, "Task {TaskId} {Kind} processed {Rows} rows in {ElapsedMs:F1} ms")]
    private partial void LogTaskDone(int taskId, string kind, int rows, double elapsedMs);

    [LoggerMessage(12, LogLevel.Warning, "Task {TaskId} was slow: {ElapsedMs:F1} ms for {Rows} rows")]
    private partial void LogTaskSlow(int taskId, double elapsedMs, int rows);

    [LoggerMessage(13, LogLevel.Error, "Task {TaskId} failed on partition {Partition}; it is rescheduled")]
    private partial void LogTaskFailed(Exception error, int taskId, int partition);

    private sealed record SimulatedTask(int Id, string Kind, int Partition, int Rows);
}
