using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LogPersist.Tests.Support;

/// <summary>
/// The crash helper (<c>tests/LogPersist.CrashHelper</c>) running as a child process: collects the
/// lines it reports on stdout, waits for them with deadlines, and kills it with SIGKILL.
/// </summary>
/// <remarks>
/// Only lines ended by a newline count. A line the kill cut in half is kept apart
/// (<see cref="CutOffLine"/>), so a half-written <c>A 1234</c> is never taken for a report of 12.
/// </remarks>
internal sealed class CrashHelperProcess : IDisposable
{
    public const string ReadyLine = "READY";

    /// <summary>Exit code .NET reports for a process ended by SIGKILL (128 + 9).</summary>
    public const int KilledExitCode = 137;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly Thread _stdoutReader;
    private readonly object _lock = new();
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly string _commandLine;
    private bool _stdoutClosed;
    private string _cutOffLine = "";

    private CrashHelperProcess(IReadOnlyList<string> arguments)
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "LogPersist.CrashHelper.dll");
        if (!File.Exists(helper))
        {
            throw new FileNotFoundException("The crash helper was not built next to the tests.", helper);
        }

        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        var startInfo = new ProcessStartInfo(string.IsNullOrEmpty(host) ? "dotnet" : host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,

            // Never written to: the helper exits when this pipe closes, so it cannot outlive a crashed test host.
            RedirectStandardInput = true,
        };
        TestEnvironment.Clear(startInfo.Environment);
        startInfo.ArgumentList.Add("exec");
        startInfo.ArgumentList.Add(helper);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        _commandLine = string.Join(' ', arguments);
        _process = new Process { StartInfo = startInfo };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lock)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.Start();
        _process.BeginErrorReadLine();
        _stdoutReader = new Thread(ReadStandardOutput) { IsBackground = true, Name = "crash helper stdout " + _process.Id };
        _stdoutReader.Start();
    }

    public int Id => _process.Id;

    /// <summary>The complete lines reported so far (a copy).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    public bool ReadySeen
    {
        get
        {
            lock (_lock)
            {
                return _lines.Contains(ReadyLine);
            }
        }
    }

    /// <summary>Bytes after the last newline when stdout closed: a report the kill cut off, not counted.</summary>
    public string CutOffLine
    {
        get
        {
            lock (_lock)
            {
                return _cutOffLine;
            }
        }
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

    /// <summary>Starts <c>dotnet exec LogPersist.CrashHelper.dll</c> with <paramref name="arguments"/>.</summary>
    public static CrashHelperProcess Start(params object[] arguments) =>
        new([.. arguments.Select(a => Convert.ToString(a, CultureInfo.InvariantCulture) ?? "")]);

    /// <summary>Waits until the helper has opened its directory and said so; fails with its stderr if it died first.</summary>
    public void WaitForReady(TimeSpan? timeout = null) =>
        WaitUntil(lines => lines.Contains(ReadyLine), "READY", timeout);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the lines reported so far. The condition is
    /// evaluated under the collector's lock each time lines arrive, so it must be cheap.
    /// </summary>
    public void WaitUntil(Func<IReadOnlyList<string>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var stopwatch = Stopwatch.StartNew();
        string? failure = null;
        lock (_lock)
        {
            while (!condition(_lines))
            {
                var remaining = limit - stopwatch.Elapsed;
                if (_stdoutClosed)
                {
                    failure = $"closed its output (died) before {what}";
                    break;
                }

                if (remaining <= TimeSpan.Zero)
                {
                    failure = $"did not report {what} within {limit.TotalSeconds:0.#} s";
                    break;
                }

                Monitor.Wait(_lock, remaining);
            }
        }

        if (failure is not null)
        {
            Assert.Fail($"The crash helper {failure}. {Describe()}");
        }
    }

    /// <summary>
    /// Kills the helper with SIGKILL and waits until it is gone and its output is read to the end.
    /// Fails if it had already exited on its own: then the test did not test a kill.
    /// </summary>
    public void Kill(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var exitedBefore = _process.HasExited;
        if (!exitedBefore)
        {
            // Process.Kill sends SIGKILL on Unix: no handler, no finally block, no flush runs in the child.
            _process.Kill();
        }

        if (!_process.WaitForExit(limit))
        {
            Assert.Fail($"The crash helper did not exit within {limit.TotalSeconds:0.#} s of SIGKILL. {Describe()}");
        }

        // The timed wait does not wait for the asynchronous stderr reader; this one does, and returns at once.
        _process.WaitForExit();
        if (!_stdoutReader.Join(limit))
        {
            Assert.Fail($"The crash helper's stdout did not close within {limit.TotalSeconds:0.#} s of its exit. {Describe()}");
        }

        if (exitedBefore || (!OperatingSystem.IsWindows() && _process.ExitCode != KilledExitCode))
        {
            Assert.Fail($"The crash helper exited on its own before it was killed. {Describe()}");
        }
    }

    private void ReadStandardOutput()
    {
        var stream = _process.StandardOutput.BaseStream;
        var buffer = new byte[64 * 1024];
        var partial = new MemoryStream();
        var batch = new List<string>();
        try
        {
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                var start = 0;
                for (var i = 0; i < read; i++)
                {
                    if (buffer[i] != (byte)'\n')
                    {
                        continue;
                    }

                    if (partial.Length > 0)
                    {
                        partial.Write(buffer, start, i - start);
                        batch.Add(Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length));
                        partial.SetLength(0);
                    }
                    else
                    {
                        batch.Add(Encoding.UTF8.GetString(buffer, start, i - start));
                    }

                    start = i + 1;
                }

                partial.Write(buffer, start, read - start);
                if (batch.Count > 0)
                {
                    lock (_lock)
                    {
                        _lines.AddRange(batch);
                        Monitor.PulseAll(_lock);
                    }

                    batch.Clear();
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke: treated as the end of the output.
        }
        finally
        {
            lock (_lock)
            {
                _cutOffLine = Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length);
                _stdoutClosed = true;
                Monitor.PulseAll(_lock);
            }
        }
    }

    private string Describe()
    {
        bool stdoutClosed;
        lock (_lock)
        {
            stdoutClosed = _stdoutClosed;
        }

        // A child whose output closed is dying: give it a moment to be reaped so its exit code and stderr are complete.
        var state = "still running";
        if (stdoutClosed ? _process.WaitForExit(TimeSpan.FromSeconds(5)) : _process.HasExited)
        {
            _process.WaitForExit();
            state = "exit code " + _process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }

        lock (_lock)
        {
            var last = _lines.Count == 0 ? "(none)" : _lines[^1];
            var stderr = _stderr.Length == 0 ? "(empty)" : _stderr.ToString();
            return $"Helper pid {Id} ({_commandLine}): {state}; {_lines.Count} lines reported, the last {last}. Stderr:\n{stderr}";
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(DefaultTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }

        _process.Dispose();
    }
}
