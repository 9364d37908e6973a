using System.Diagnostics;
using System.Globalization;

namespace LogPersist.Tests.Support;

/// <summary>
/// Runs LogPersist.CrashHelper as a child process, collects what it reports on stdout, and kills it
/// with SIGKILL. The helper is copied next to the test assembly by the project reference.
/// </summary>
internal sealed class CrashHelperProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<long> _reported = [];
    private readonly object _lock = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _stderr = new();
    private TaskCompletionSource? _countReached;
    private int _countWanted;

    private CrashHelperProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    /// <summary>Every number the child reported (the part after the one-letter tag), in arrival order.</summary>
    public long[] Reported
    {
        get
        {
            lock (_lock)
            {
                return [.. _reported];
            }
        }
    }

    public static async Task<CrashHelperProcess> StartAsync(params string[] arguments)
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "LogPersist.CrashHelper.dll");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(helper);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new CrashHelperProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (child._lock)
            {
                child._stderr.AppendLine(e.Data);
            }
        };
        process.Exited += (_, _) => child._ready.TrySetException(new InvalidOperationException("the crash helper exited early: " + child.StandardError));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await child._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return child;
    }

    public string StandardError
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Completes once the child has reported at least <paramref name="count"/> numbers.</summary>
    public Task WhenReported(int count)
    {
        lock (_lock)
        {
            if (_reported.Count >= count)
            {
                return Task.CompletedTask;
            }

            _countWanted = count;
            _countReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _countReached.Task;
        }
    }

    /// <summary>SIGKILL: the child gets no chance to flush, unmap or release anything itself.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line == "READY")
        {
            _ready.TrySetResult();
            return;
        }

        if (line.Length > 2 && long.TryParse(line.AsSpan(2), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            lock (_lock)
            {
                _reported.Add(value);
                if (_countReached is not null && _reported.Count >= _countWanted)
                {
                    _countReached.TrySetResult();
                    _countReached = null;
                }
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
