using System.ComponentModel;
using System.Diagnostics;
using LogPersist.Cli.Run.Controls;
using LogPersist.Pipeline;

namespace LogPersist.Cli.Run;

/// <summary>What the child did: its exit code (128 + the signal when a signal ended it) and what was recorded.</summary>
internal sealed record ChildOutcome(int ExitCode, long LinesAppended, long LinesDropped);

/// <summary>
/// Starts the command with stdin inherited and stdout and stderr on pipes, reads each pipe on a thread
/// of its own into the WAL and the passthrough stream, forwards the wrapper's SIGINT or SIGTERM to the
/// child, and returns once the child has exited and both pipes are at their end — so nothing the
/// child wrote before it died, by any signal, is left unread.
/// </summary>
internal sealed class ChildRunner
{
    /// <summary>The shell's exit code for a command that was not found.</summary>
    public const int NotFound = 127;

    /// <summary>The shell's exit code for a command found but not executable.</summary>
    public const int NotExecutable = 126;

    private const int ENOENT = 2;

    private readonly LogPipeline _pipeline;
    private readonly int _maxPieceBytes;
    private readonly TextWriter _error;

    /// <summary>What is done to each line before the WAL; null records every line.</summary>
    public LineFilter? Filter { get; init; }

    public ChildRunner(LogPipeline pipeline, int maxPieceBytes, TextWriter error)
    {
        _pipeline = pipeline;
        _maxPieceBytes = maxPieceBytes;
        _error = error;
    }

    /// <summary>
    /// Runs <paramref name="command"/> to its end. When <paramref name="cancellation"/> is cancelled, the
    /// signal <paramref name="signal"/> returns (SIGTERM when null) is sent to the child, and the run
    /// goes on until the child exits.
    /// </summary>
    public async Task<ChildOutcome> RunAsync(string command, IReadOnlyList<string> arguments, Stream? stdoutPassthrough, Stream? stderrPassthrough, Func<int> signal, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(command)
        {
            UseShellExecute = false,
            RedirectStandardInput = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The wrapper's Loki password is its own: the child (and whatever it runs) does not get it.
        start.Environment.Remove("LOKI_PASSWORD");

        using var child = new Process { StartInfo = start };
        if (cancellation.IsCancellationRequested)
        {
            // Told to stop before the child existed: do not start one only to signal it at once.
            await _error.WriteLineAsync($"logpersist run: stopped before '{command}' was started.").ConfigureAwait(false);
            await _error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            return new ChildOutcome(128 + signal(), 0, 0);
        }

        try
        {
            ChildSignals.StartWithDefaultSigPipe(child);
        }
        catch (Win32Exception e)
        {
            await _error.WriteLineAsync($"logpersist run: cannot start '{command}': {e.Message}").ConfigureAwait(false);
            await _error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            // As a shell: 127 when there is no such file, 126 when it exists but cannot be executed.
            return new ChildOutcome(e.NativeErrorCode == ENOENT ? NotFound : NotExecutable, 0, 0);
        }

        var stdout = new LineRecorder(_pipeline, LineRecorder.StdoutCategory) { Filter = Filter };
        var stderr = new LineRecorder(_pipeline, LineRecorder.StderrCategory) { Filter = Filter };
        var pumps = new[]
        {
            Pump("stdout", child.StandardOutput.BaseStream, stdoutPassthrough, stdout),
            Pump("stderr", child.StandardError.BaseStream, stderrPassthrough, stderr),
        };

        var childId = child.Id;
        using (cancellation.Register(() => Forward(child, childId, signal())))
        {
            await Task.WhenAll(pumps).ConfigureAwait(false);
            await child.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var pump in pumps)
        {
            if (pump.Result is { } failure)
            {
                await _error.WriteLineAsync(failure).ConfigureAwait(false);
            }
        }

        await _error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return new ChildOutcome(child.ExitCode, stdout.Appended + stderr.Appended, stdout.Dropped + stderr.Dropped);
    }

    /// <summary>Reads one pipe to its end on a dedicated thread; the result is a problem to report, or null.</summary>
    private Task<string?> Pump(string name, Stream pipe, Stream? passthrough, LineRecorder recorder)
    {
        var done = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var splitter = new LineSplitter(_maxPieceBytes, recorder.Write);
        var thread = new Thread(() =>
        {
            try
            {
                splitter.Run(pipe, passthrough);
                done.SetResult(splitter.PassthroughError is { } e
                    ? $"logpersist run: copying the child's {name} to ours failed ({e.Message}); its lines were still written to the WAL."
                    : null);
            }
            catch (Exception e)
            {
                // Recording failed: what was read is recorded; say so rather than hide it, and keep the
                // pipe flowing to its end (passed through, no longer recorded), or the child would block
                // on a full pipe and the wrapper would wait for it forever.
                var bytesRead = splitter.BytesRead;
                Drain(pipe, passthrough);
                done.SetResult($"logpersist run: recording the child's {name} failed after {bytesRead} bytes ({e.Message}); the rest was passed through but not recorded.");
            }
        })
        {
            IsBackground = true,
            Name = "logpersist run " + name,
        };
        thread.Start();
        return done.Task;
    }

    private static void Drain(Stream pipe, Stream? passthrough)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = pipe.Read(buffer)) > 0)
            {
                try
                {
                    passthrough?.Write(buffer, 0, read);
                }
                catch (IOException)
                {
                    passthrough = null;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe itself is broken: nothing more can be read from it.
        }
    }

    private static void Forward(Process child, int childId, int signal)
    {
        try
        {
            if (!child.HasExited)
            {
                ChildSignals.Send(childId, signal);
            }
        }
        catch (InvalidOperationException)
        {
            // The child is already gone: there is nothing to forward to.
        }
    }
}
