using System.Diagnostics;
using System.Text;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Cli.Run.Files;

/// <summary>
/// <c>logpersist run --files …</c> in-process around a child that only waits for a stop file, while the
/// test writes, renames, truncates and deletes the followed files itself and watches the live WAL.
/// </summary>
internal sealed class FollowRun : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _stopFile;
    private readonly Task<RunResult> _run;

    private FollowRun(string root, string stopFile, Task<RunResult> run)
    {
        Root = root;
        _stopFile = stopFile;
        _run = run;
    }

    public string Root { get; }

    /// <summary>Starts the wrapper on <paramref name="root"/> following <paramref name="patterns"/>; returns once its first pass may have run.</summary>
    public static FollowRun Start(string root, string[] patterns, params string[] options)
    {
        var stopFile = Path.Combine(root, "stop-" + Guid.NewGuid().ToString("N"));
        string[] args = [.. patterns.SelectMany(p => new[] { "--files", p }), .. options];
        var run = Task.Run(() => RunHarness.ShellAsync(root, $"while [ ! -e '{stopFile}' ]; do sleep 0.02; done", args));
        return new FollowRun(root, stopFile, run);
    }

    /// <summary>The file lines in the WAL so far (live), in WAL order.</summary>
    public static List<RunEntry> FileEntries(string root) =>
        Directory.Exists(RunHarness.WalDirectory(root))
            ? [.. RunHarness.Entries(root, live: true).Where(e => e.Line.TryGetProperty("file", out _))]
            : [];

    /// <summary>Waits until the WAL holds <paramref name="messages"/> among its file lines; fails at the deadline with what it holds.</summary>
    public async Task WaitForAsync(IEnumerable<string> messages, string what)
    {
        var wanted = messages.ToHashSet(StringComparer.Ordinal);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_run.IsCompleted, $"The wrapper ended before {what}: {(_run.IsCompletedSuccessfully ? _run.Result.StderrText : _run.Exception?.ToString())}");
            var seen = FileEntries(Root).Select(e => e.Message).ToHashSet(StringComparer.Ordinal);
            if (wanted.IsSubsetOf(seen))
            {
                return;
            }

            Assert.True(stopwatch.Elapsed < Patience, $"The WAL did not get {what} within {Patience.TotalSeconds} s; missing {string.Join(", ", wanted.Except(seen).Take(5))}.");
            await Task.Delay(20);
        }
    }

    /// <summary>Lets the child exit and waits for the wrapper's last pass; the run must succeed.</summary>
    public async Task<RunResult> StopAsync()
    {
        await File.WriteAllTextAsync(_stopFile, "");
        var result = await _run.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.StderrText);
        Assert.DoesNotContain("following the files stopped", result.StderrText, StringComparison.Ordinal);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_run.IsCompleted)
        {
            await File.WriteAllTextAsync(_stopFile, "");
            await _run.WaitAsync(Patience).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}

/// <summary>Writing numbered lines into followed files, and checking that each is in the WAL once.</summary>
internal static class FollowedLines
{
    /// <summary><paramref name="count"/> lines named after <paramref name="prefix"/>, each about 64 bytes (so a few reach past a fingerprint).</summary>
    public static List<string> Make(string prefix, int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => $"{prefix}-{i:D6} the quick brown fox jumps over the lazy dog")];

    public static void Append(string path, IEnumerable<string> lines) =>
        File.AppendAllText(path, string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));

    public static void Write(Stream stream, IEnumerable<string> lines)
    {
        stream.Write(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));
        stream.Flush();
    }

    /// <summary>Every one of <paramref name="expected"/> is a file line of the WAL exactly once, and nothing else is.</summary>
    public static void AssertExactlyOnce(IEnumerable<string> expected, IEnumerable<RunEntry> entries)
    {
        var list = entries.ToList();
        var actual = list.Select(e => e.Message).ToList();
        var duplicates = actual.GroupBy(m => m, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"{g.Key} ×{g.Count()}").Take(5).ToList();
        Assert.True(duplicates.Count == 0, $"Recorded more than once: {string.Join("; ", duplicates)}. {Describe(list, actual.GroupBy(m => m, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key)}");
        var missing = expected.Except(actual, StringComparer.Ordinal).Take(5).ToList();
        Assert.True(missing.Count == 0, $"Never recorded: {string.Join("; ", missing)}");
        var extra = actual.Except(expected, StringComparer.Ordinal).Take(5).ToList();
        Assert.True(extra.Count == 0, $"Recorded but never written: {string.Join("; ", extra)}");
    }

    private static string Describe(List<RunEntry> entries, string? message) =>
        message is null ? "" : "Its entries: " + string.Join(" | ", entries.Where(e => e.Message == message).Select(e => $"{e.Line.GetProperty("file")} {e.Line.GetProperty("file_id")} @{e.Line.GetProperty("file_offset")}"));

    /// <summary>The lines recorded from files whose name the <c>file</c> field gives, in WAL order.</summary>
    public static List<string> From(IEnumerable<RunEntry> entries, string path) =>
        [.. entries.Where(e => e.Line.GetProperty("file").GetString() == path).Select(e => e.Message)];

    /// <summary>Deletes every segment of a closed WAL, as the shipper does once Loki has acknowledged them.</summary>
    public static int DeleteSegments(string root)
    {
        var segments = Directory.GetFiles(RunHarness.WalDirectory(root), SegmentNames.SearchPattern);
        foreach (var segment in segments)
        {
            File.Delete(segment);
        }

        return segments.Length;
    }
}
