using System.Diagnostics;
using System.Text;
using LogPersist.Cli.Run.Controls;
using LogPersist.Entries;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Cli.Run.Controls;

/// <summary><c>logpersist run</c> with <c>--sample</c>, <c>--drop</c>, <c>--redact</c> and <c>--config</c>, end to end.</summary>
public sealed class RunControlsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [LinuxFact]
    public async Task Lines_are_sampled_dropped_and_redacted_before_the_WAL_and_a_summary_says_what_is_missing()
    {
        const string Secret = "hunter2-8c1f0e";
        var script = "i=0; while [ $i -lt 200 ]; do echo \"DEBUG:root:noise $i\"; i=$((i+1)); done; "
            + "for i in 1 2 3 4 5; do echo \"ERROR:root:boom $i\"; done; "
            + "for i in 1 2 3; do echo \"10.0.0.7 GET /healthz 200\"; done; "
            + $"echo 'login user=ana password={Secret} ok' >&2; echo '{{\"msg\":\"retry\",\"level\":\"warning\",\"auth\":\"password={Secret}\"}}'";

        var result = await RunHarness.ShellAsync(_root.Path, script, ["--sample", "debug=0", "--drop", "GET /healthz", "--redact", @"password\=[^\s""]+"]);

        Assert.True(result.ExitCode == 0, result.StderrText);
        var entries = RunHarness.Entries(_root.Path);
        var lines = entries.Where(e => e.Category != FilterSummary.Category).ToList();
        Assert.DoesNotContain(lines, e => e.Level == EntryLevel.Debug);
        Assert.Equal(5, lines.Count(e => e.Level == EntryLevel.Error && e.Message.StartsWith("ERROR:root:boom", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, e => e.Message.Contains("healthz", StringComparison.Ordinal));
        Assert.Contains(lines, e => e.Message == "login user=ana [REDACTED] ok");
        var json = Assert.Single(lines, e => e.Message == "retry");
        Assert.Equal((EntryLevel.Warning, "[REDACTED]"), (json.Level, json.Line.GetProperty("auth").GetString()));

        // The secret's bytes are in no file of the WAL directory.
        foreach (var file in Directory.GetFiles(RunHarness.WalDirectory(_root.Path)))
        {
            Assert.True(IndexOf(File.ReadAllBytes(file), Encoding.UTF8.GetBytes(Secret)) < 0, $"'{Path.GetFileName(file)}' holds the secret");
        }

        var summary = Assert.Single(entries, e => e.Category == FilterSummary.Category);
        Assert.StartsWith("sampled out 200 debug lines and dropped 3 lines in the last ", summary.Message, StringComparison.Ordinal);
        Assert.Equal((200, 3, 2), (summary.Line.GetProperty("sampled_out_debug").GetInt32(), summary.Line.GetProperty("dropped").GetInt32(), summary.Line.GetProperty("redacted").GetInt32()));
    }

    [LinuxFact]
    public async Task A_changed_config_applies_while_the_child_runs_and_a_bad_one_keeps_the_running_settings()
    {
        var config = _root.Combine("run.json");
        File.WriteAllText(config, """{ "sample": { "info": 0 } }""");
        var stop = _root.Combine("stop");
        var stderr = new RecordingStream();
        var run = Task.Run(() => RunHarness.ShellAsync(
            _root.Path,
            $"i=0; while [ ! -e '{stop}' ]; do echo \"tick $i\"; i=$((i+1)); sleep 0.02; done",
            ["--config", config],
            stderr: stderr));
        try
        {
            await WaitAsync(() => Directory.Exists(RunHarness.WalDirectory(_root.Path)), "the WAL directory");
            await Task.Delay(500);
            Assert.DoesNotContain(Ticks(), _ => true);

            File.WriteAllText(config, """{ "sample": { "info": 1 }, "dorp": [] }""");
            await WaitAsync(() => Text(stderr).Contains("not applied", StringComparison.Ordinal), "the bad file to be reported");
            Assert.Contains("'dorp' is not a setting", Text(stderr), StringComparison.Ordinal);
            await Task.Delay(300);
            Assert.Empty(Ticks());

            File.WriteAllText(config, """{ "sample": { "info": 1 }, "drop": ["tick \\d*[05]$"] }""");
            await WaitAsync(() => Ticks().Count >= 10, "ticks once info is kept again");
            Assert.All(Ticks(), t => Assert.DoesNotMatch(@"[05]$", t));
        }
        finally
        {
            File.WriteAllText(stop, "");
        }

        var result = await run.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.StderrText);
        Assert.Contains($"--config '{config}' applied.", result.StderrText, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task SIGHUP_reloads_a_config_whose_change_the_periodic_check_cannot_see()
    {
        var config = _root.Combine("run.json");
        File.WriteAllText(config, """{ "sample": { "info": 0 } }""");
        var written = File.GetLastWriteTimeUtc(config);
        var stop = _root.Combine("stop");
        using var tool = ToolProcess.Start([
            "run", "--directory", _root.Path, "--service", RunHarness.Service, "--instance", RunHarness.Instance, "--config", config, "--",
            "/bin/sh", "-c", $"while [ ! -e '{stop}' ]; do echo tick; sleep 0.02; done"]);
        _ = tool.StandardOutput.ReadToEndAsync();
        try
        {
            await WaitAsync(() => Directory.Exists(RunHarness.WalDirectory(_root.Path)), "the WAL directory");

            // Same length, same modification time: only a SIGHUP tells the wrapper.
            File.WriteAllText(config, """{ "sample": { "info": 1 } }""");
            File.SetLastWriteTimeUtc(config, written);
            await Task.Delay(RunConfig.CheckInterval * 2.5);
            Assert.Empty(Ticks());

            using (var hangup = Process.Start("kill", ["-HUP", tool.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
                await hangup.WaitForExitAsync();
            }

            await WaitAsync(() => Ticks().Count >= 5, "ticks after SIGHUP");
        }
        finally
        {
            File.WriteAllText(stop, "");
        }

        Assert.True(tool.WaitForExit(Patience), "The wrapper did not exit.");
        Assert.Equal(0, tool.ExitCode);
    }

    [Fact]
    public async Task A_bad_config_at_start_is_a_usage_error_and_the_child_does_not_start()
    {
        var config = _root.Combine("run.json");
        File.WriteAllText(config, """{ "sample": { "debug": 3 }, "redact": ["("] }""");
        var marker = _root.Combine("started");

        var result = await RunHarness.ShellAsync(_root.Path, $"touch '{marker}'", ["--config", config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("the rate of debug must be a number from 0 to 1", result.StderrText, StringComparison.Ordinal);
        Assert.Contains("--redact '('", result.StderrText, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    private List<string> Ticks() =>
        [.. RunHarness.Entries(_root.Path, live: true).Where(e => e.Message.StartsWith("tick", StringComparison.Ordinal)).Select(e => e.Message)];

    private static string Text(RecordingStream stream) => Encoding.UTF8.GetString(stream.ToArray());

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Patience, $"No {what} within {Patience.TotalSeconds} s.");
            await Task.Delay(20);
        }
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
