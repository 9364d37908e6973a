using System.Diagnostics;
using System.Globalization;
using System.Text;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Cli.Run.Files;

/// <summary>
/// <c>logpersist run --files</c> killed with SIGKILL again and again while files keep being written,
/// rotated and copied: each restart on the same WAL resumes every file where its WAL ends.
/// </summary>
public sealed class FileFollowerCrashTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly StringBuilder Stderr = new();
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [LinuxFact]
    public async Task Twenty_SIGKILLs_of_the_wrapper_while_files_are_written_and_rotated_lose_no_line_and_repeat_none()
    {
        var logs = _temp.Combine("logs");
        var root = _temp.Combine("wal");
        Directory.CreateDirectory(logs);
        var pattern = Path.Combine(logs, "*.log*");
        using var writer = new RotatingWriter(logs);
        writer.Start();

        var recorded = 0;
        LastRoot = root;
        for (var kill = 0; kill < 20; kill++)
        {
            using var wrapper = StartWrapper(root, pattern);
            var progressed = recorded + 200;
            await WaitAsync(() => CountEntries(root) >= progressed, wrapper, $"run {kill + 1} to record {progressed} lines", writer);
            wrapper.Kill();
            Assert.True(wrapper.WaitForExit(Patience), "The wrapper did not exit after SIGKILL.");
            Assert.Equal(CrashHelperProcess.KilledExitCode, wrapper.ExitCode);
            recorded = CountEntries(root);
        }

        var written = writer.Stop();
        Assert.True(writer.Rotations > 0 && writer.CopyTruncations > 0, $"The writer rotated {writer.Rotations} and copy-truncated {writer.CopyTruncations} times.");

        // A last run that stops cleanly: its final pass records what the files hold beyond the WAL.
        var last = await RunHarness.ShellAsync(root, "true", ["--files", pattern, "--max-disk-bytes", "8589934592"]);
        Assert.True(last.ExitCode == 0, last.StderrText);

        FollowedLines.AssertExactlyOnce(written, FollowRun.FileEntries(root));
    }

    private static Process StartWrapper(string root, string pattern)
    {
        // The child only lives as long as the wrapper: it ends once its parent is gone.
        var process = ToolProcess.Start(
            ["run", "--directory", root, "--service", RunHarness.Service, "--instance", RunHarness.Instance, "--files", pattern,
            // Each restart starts a segment (64 MiB); the default 1 GiB cap would drop the oldest by the 17th.
            "--max-disk-bytes", "8589934592", "--",
            "/bin/sh", "-c", "while kill -0 $PPID 2>/dev/null; do sleep 0.1; done"],
            readStderr: false);
        _ = process.StandardOutput.ReadToEndAsync();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (Stderr)
                {
                    Stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Data records in the WAL (every one a file line here: the child writes nothing), read while it may be live.</summary>
    private static int CountEntries(string root)
    {
        var directory = RunHarness.WalDirectory(root);
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        var records = Wals.ReadAll(directory, out var reader, liveFrom: Wals.NewestSegment(directory));
        using (reader)
        {
            return records.Count(r => r.Kind == RecordKind.Data);
        }
    }

    private static string Describe()
    {
        var directory = RunHarness.WalDirectory(LastRoot);
        var files = Directory.GetFiles(directory).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length}");
        var positions = Path.Combine(directory, "files.positions");
        return $"WAL: {string.Join(", ", files)}; positions: {(File.Exists(positions) ? File.ReadAllText(positions) : "none")}";
    }

    private static string LastRoot = "";

    /// <summary>The wrapper's threads as the kernel sees them: name, state and where each waits.</summary>
    private static string Threads(int pid)
    {
        var threads = new StringBuilder();
        try
        {
            foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                string Read(string name) => File.Exists(Path.Combine(task, name)) ? File.ReadAllText(Path.Combine(task, name)).Trim() : "?";
                var stat = Read("stat");
                var state = stat.Length > stat.LastIndexOf(')') + 2 ? stat[stat.LastIndexOf(')') + 2] : '?';
                threads.Append(CultureInfo.InvariantCulture, $"[{Read("comm")} {state} {Read("wchan")}] ");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            threads.Append(e.Message);
        }

        return threads.ToString();
    }

    private static async Task WaitAsync(Func<bool> condition, Process wrapper, string what, RotatingWriter writer)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (wrapper.HasExited)
            {
                Assert.Fail($"The wrapper exited ({wrapper.ExitCode}) before {what}.");
            }

            if (stopwatch.Elapsed > Patience)
            {
                lock (Stderr)
                {
                    Assert.Fail($"No {what} within {Patience.TotalSeconds} s. {writer.Describe()} The wrappers' stderr: {Stderr}. {Describe()} Threads: {Threads(wrapper.Id)}");
                }
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Writes numbered lines, each flushed to its file before it counts as written, into an
    /// <c>app.log</c> rotated by rename-and-create, worker files that keep appearing, and a
    /// <c>ct.log</c> rotated by copy-and-truncate.
    /// </summary>
    private sealed class RotatingWriter(string directory) : IDisposable
    {
        private readonly List<string> _written = [];
        private volatile bool _stop;
        private Thread? _running;
        private Exception? _failure;

        public int Rotations { get; private set; }

        public int CopyTruncations { get; private set; }

        public void Start()
        {
            _running = new Thread(Run) { IsBackground = true, Name = "rotating writer" };
            _running.Start();
        }

        /// <summary>How far the writer got, and why it stopped if it did.</summary>
        public string Describe()
        {
            lock (_written)
            {
                return $"The writer wrote {_written.Count} lines (last: {_written.LastOrDefault()}), {Rotations} rotations, {CopyTruncations} copy-truncations{(_failure is null ? "" : ", then failed: " + _failure)}.";
            }
        }

        public List<string> Stop()
        {
            _stop = true;
            _running?.Join();
            Assert.Null(_failure);
            return _written;
        }

        private void Run()
        {
            try
            {
                var app = Open("app.log");
                var ct = Open("ct.log");
                var worker = Open("worker-0000.log");
                for (var n = 0; !_stop; n++)
                {
                    var (stream, name) = (n % 3) switch
                    {
                        0 => (app, "app"),
                        1 => (ct, "ct"),
                        _ => (worker, "worker"),
                    };
                    var line = string.Create(CultureInfo.InvariantCulture, $"{name}-{n:D7} payload {new string((char)('a' + (n % 26)), 40)}");
                    stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
                    stream.Flush();
                    lock (_written)
                    {
                        _written.Add(line);
                    }

                    if (n % 900 == 899)
                    {
                        // Rename and create, as Python's RotatingFileHandler does.
                        app.Dispose();
                        File.Move(Path.Combine(directory, "app.log"), Path.Combine(directory, $"app.log.{++Rotations}"));
                        app = Open("app.log");
                    }
                    else if (n % 1400 == 1399)
                    {
                        // Copy, then truncate in place, as logrotate's copytruncate does.
                        File.Copy(Path.Combine(directory, "ct.log"), Path.Combine(directory, $"ct.log.{++CopyTruncations}"));
                        ct.SetLength(0);
                    }
                    else if (n % 1000 == 999)
                    {
                        worker.Dispose();
                        worker = Open(string.Create(CultureInfo.InvariantCulture, $"worker-{n:D4}.log"));
                    }

                    if (n % 2 == 0)
                    {
                        // Pacing, so the WAL a poll reads stays small: about a thousand lines a second.
                        Thread.Sleep(1);
                    }
                }

                app.Dispose();
                ct.Dispose();
                worker.Dispose();
            }
            catch (Exception e)
            {
                _failure = e;
            }
        }

        private FileStream Open(string name)
        {
            // Not FileMode.Append: that refuses SetLength, which the copy-truncate needs.
            var stream = new FileStream(Path.Combine(directory, name), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(0, SeekOrigin.End);
            return stream;
        }

        public void Dispose()
        {
            _stop = true;
            _running?.Join();
        }
    }
}
