using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Cli.Run;

/// <summary>
/// <c>logpersist run --config</c> with a <c>logPersist</c> object: LogPersist's own settings over the
/// command line's, at start and applied while the child runs.
/// </summary>
public sealed class RunLiveSettingsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // Each round a Python-logging debug, warning and error line, a line of no known level and a JSON debug line,
    // tagged with its round and the phase the test is in (the content of the file 'phase').
    private const string Rounds = """
        i=0; while [ ! -e stop ]; do p=$(cat phase); echo "DEBUG:root:tick $i $p"; echo "WARNING:root:tick $i $p"; echo "ERROR:root:tick $i $p"; echo "plain tick $i $p"; echo "{\"msg\":\"json tick $i $p\",\"level\":\"debug\"}"; i=$((i+1)); sleep 0.02; done
        """;

    private readonly TempDirectory _root = new();
    private readonly string _config;
    private readonly RecordingStream _stderr = new();

    public RunLiveSettingsTests()
    {
        _config = _root.Combine("run.json");
        Phase("before");
    }

    public void Dispose() => _root.Dispose();

    [LinuxFact]
    public async Task MinimumLevel_raised_in_the_file_leaves_out_the_lines_below_it_from_then_on()
    {
        WriteConfig("""{ "logPersist": { "minimumLevel": "Trace" } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Ticks("ERROR:root:tick", "before").Count >= 5, "ticks before the change");
            // Before the change every line is kept: each round's debug lines are there up to the last whole round.
            var rounds = Ticks("ERROR:root:tick", "before").Count - 1;
            var before = Messages();
            for (var i = 0; i < rounds; i++)
            {
                Assert.Contains($"DEBUG:root:tick {i} before", before);
                Assert.Contains($"json tick {i} before", before);
            }

            await ReloadAsync("""{ "logPersist": { "minimumLevel": "Warning" } }""");
            Phase("after");
            await WaitAsync(() => Ticks("ERROR:root:tick", "after").Count >= 5, "ticks after the change");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        Assert.Empty(Ticks("DEBUG:root:tick", "after"));
        Assert.Empty(Ticks("json tick", "after"));
        Assert.Equal(Ticks("ERROR:root:tick", "after").Count, Ticks("WARNING:root:tick", "after").Count);
        // A line of no known level is kept: nothing says it is below the minimum.
        Assert.Equal(Ticks("ERROR:root:tick", "after").Count, Ticks("plain tick", "after").Count);
    }

    [LinuxFact]
    public async Task A_logPersist_object_at_start_wins_over_the_options_and_applies_before_the_WAL_opens()
    {
        var elsewhere = _root.Combine("elsewhere");
        WriteConfig($$"""{ "drop": ["^never$"], "logPersist": { "MinimumLevel": "warning", "Directory": {{JsonSerializer.Serialize(elsewhere)}} } }""");

        var result = await RunHarness.ShellAsync(_root.Path, "echo 'DEBUG:root:a'; echo 'ERROR:root:b'; echo plain; echo '{\"msg\":\"j1\",\"level\":\"debug\"}'; echo '{\"msg\":\"j2\",\"level\":\"error\"}'", ["--config", _config]);

        Assert.True(result.ExitCode == 0, result.StderrText);
        Assert.False(Directory.Exists(RunHarness.WalDirectory(_root.Path)));
        Assert.Equal(["ERROR:root:b", "plain", "j2"], RunHarness.Entries(elsewhere).Messages("stdout"));
    }

    [Fact]
    public async Task An_invalid_logPersist_object_at_start_is_a_usage_error_naming_every_problem()
    {
        await using var server = await TestServer.StartAsync();
        WriteConfig($$"""{ "logPersist": { "lokiUrl": "{{server.BaseAddress}}", "maxInFlight": 0, "durability": "Fast" } }""");
        var marker = _root.Combine("started");

        var result = await RunHarness.ShellAsync(_root.Path, $"touch '{marker}'", ["--config", _config]);

        Assert.Equal(2, result.ExitCode);
        var message = Assert.Single(result.StderrText.Split('\n'), l => l.Contains("MaxInFlight", StringComparison.Ordinal));
        Assert.Contains("MaxInFlight must be between 1 and 64", message, StringComparison.Ordinal);
        Assert.Contains("'Fast' at 'logPersist:Durability'", message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_key_of_logPersist_that_is_no_setting_is_refused_rather_than_ignored()
    {
        WriteConfig("""{ "logPersist": { "minimumLevl": "Error" } }""");

        var result = await RunHarness.ShellAsync(_root.Path, "true", ["--config", _config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'logPersist:minimumLevl' is not a LogPersist setting", result.StderrText, StringComparison.Ordinal);
    }

    [LinuxFact]
    public async Task An_invalid_logPersist_object_on_reload_is_reported_with_every_problem_and_the_running_settings_stay()
    {
        await using var server = await TestServer.StartAsync();
        WriteConfig($$"""{ "logPersist": { "lokiUrl": "{{server.BaseAddress}}", "minimumLevel": "Information" } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Ticks("WARNING:root:tick", "before").Count >= 3, "ticks");
            WriteConfig($$"""{ "logPersist": { "lokiUrl": "{{server.BaseAddress}}", "minimumLevel": "Error", "maxInFlight": 0, "durability": "Fast" } }""");
            await WaitAsync(() => Text().Contains("not applied", StringComparison.Ordinal), "the bad section to be reported");
            Phase("after");
            // Still running with the old minimum level: warnings are written.
            await WaitAsync(() => Shipped(server, "after").Count(m => m.StartsWith("WARNING:root:tick ", StringComparison.Ordinal)) >= 5, "warnings after the rejected change");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        var message = Assert.Single(Text().Split('\n'), l => l.Contains("not applied", StringComparison.Ordinal));
        Assert.Contains("MaxInFlight must be between 1 and 64", message, StringComparison.Ordinal);
        Assert.Contains("'Fast' at 'logPersist:Durability'", message, StringComparison.Ordinal);
        Assert.Contains("the previous settings stay", message, StringComparison.Ordinal);
        // Shipped with the running settings (Information, not Error): every round's warning after the rejected change, no debug line.
        var after = Shipped(server, "after");
        var rounds = after.Count(m => m.StartsWith("ERROR:root:tick ", StringComparison.Ordinal));
        Assert.True(rounds >= 5);
        Assert.Equal(rounds, after.Count(m => m.StartsWith("WARNING:root:tick ", StringComparison.Ordinal)));
        Assert.DoesNotContain(after, m => m.StartsWith("DEBUG:root:tick ", StringComparison.Ordinal));
        Resends.AssertNone(server);
    }

    [LinuxFact]
    public async Task A_directory_changed_in_the_file_is_reported_once_and_lines_keep_going_to_the_open_WAL()
    {
        var elsewhere = _root.Combine("elsewhere");
        WriteConfig("""{ "logPersist": { "minimumLevel": "Trace" } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Ticks("ERROR:root:tick", "before").Count >= 3, "ticks");
            await ReloadAsync($$"""{ "logPersist": { "minimumLevel": "Trace", "directory": {{JsonSerializer.Serialize(elsewhere)}} } }""");
            // A second reload that still names the other directory, and changes what can change.
            await ReloadAsync($$"""{ "logPersist": { "minimumLevel": "Warning", "directory": {{JsonSerializer.Serialize(elsewhere)}} } }""");
            Phase("after");
            await WaitAsync(() => Ticks("ERROR:root:tick", "after").Count >= 5, "ticks after the change");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        Assert.Single(Text().Split('\n'), l => l.Contains("restart to apply Directory", StringComparison.Ordinal));
        Assert.False(Directory.Exists(elsewhere));
        Assert.Empty(Ticks("DEBUG:root:tick", "after"));
    }

    [LinuxFact]
    public async Task A_line_limit_set_in_the_file_at_start_and_dropped_later_asks_for_no_restart()
    {
        // MaxEntryBytes follows the start's line limit; dropping maxLineBytes from the file must not look like changing it.
        WriteConfig("""{ "logPersist": { "maxLineBytes": 1024 } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Ticks("ERROR:root:tick", "before").Count >= 3, "ticks");
            await ReloadAsync("""{ "drop": ["^never$"] }""");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        Assert.DoesNotContain("restart to apply", Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Labels_changed_in_the_file_label_the_entries_shipped_after_the_change()
    {
        await using var server = await TestServer.StartAsync();
        WriteConfig($$"""{ "logPersist": { "lokiUrl": "{{server.BaseAddress}}", "labels": { "team": "a" } } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Shipped(server, "before").Count >= 5, "entries shipped before the change");
            Assert.All(server.Entries, e => Assert.Equal("a", e.LabelMap["team"]));
            await ReloadAsync($$"""{ "logPersist": { "lokiUrl": "{{server.BaseAddress}}", "labels": { "team": "b" } } }""");
            Phase("after");
            await WaitAsync(() => Shipped(server, "after").Count >= 5, "entries shipped after the change");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        var after = server.Entries.Where(e => Message(e).EndsWith(" after", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, e => Assert.Equal("b", e.LabelMap["team"]));
        Resends.AssertNone(server);
    }

    [Fact]
    public async Task LokiUrl_moved_in_the_file_ships_every_line_once_across_the_two_servers()
    {
        await using var first = await TestServer.StartAsync();
        await using var second = await TestServer.StartAsync();
        WriteConfig($$"""{ "logPersist": { "lokiUrl": "{{first.BaseAddress}}" } }""");
        var run = Start();
        try
        {
            await WaitAsync(() => Shipped(first, "before").Count >= 5, "entries at the first server");
            await ReloadAsync($$"""{ "logPersist": { "lokiUrl": "{{second.BaseAddress}}" } }""");
            Phase("after");
            await WaitAsync(() => Shipped(second, "after").Count >= 5, "entries at the second server");
        }
        finally
        {
            Stop();
        }

        await FinishAsync(run);
        // Five lines a round, every round from the first to the last, each line once across the two servers.
        var shipped = first.Entries.Concat(second.Entries).Select(Message).ToList();
        var rounds = 1 + shipped.Where(m => m.StartsWith("ERROR:root:tick ", StringComparison.Ordinal)).Max(m => int.Parse(m.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(5 * rounds, shipped.Count);
        Assert.Equal(shipped.Count, shipped.Distinct(StringComparer.Ordinal).Count());
        Assert.Empty(Shipped(first, "after"));
        Resends.AssertNone(first);
        Resends.AssertNone(second);
    }

    private Task<RunResult> Start() =>
        Task.Run(() => RunHarness.ShellAsync(_root.Path, $"cd '{_root.Path}'; {Rounds}", ["--config", _config, "--flush-timeout", "10s"], stderr: _stderr));

    private async Task FinishAsync(Task<RunResult> run)
    {
        var result = await run.WaitAsync(Patience);
        Assert.True(result.ExitCode == 0, result.StderrText);
    }

    /// <summary>Replaces the config file whole, so that no check reads it half written.</summary>
    private void WriteConfig(string json)
    {
        var next = _config + ".next";
        File.WriteAllText(next, json);
        File.Move(next, _config, overwrite: true);
    }

    /// <summary>Writes the file and waits until the wrapper says it applied it.</summary>
    private async Task ReloadAsync(string json)
    {
        var applied = Applied();
        WriteConfig(json);
        await WaitAsync(() => Applied() > applied, "the changed config to be applied");
    }

    private int Applied() => Text().Split('\n').Count(l => l.EndsWith("' applied.", StringComparison.Ordinal));

    private void Phase(string phase) => File.WriteAllText(_root.Combine("phase"), phase);

    private void Stop() => File.WriteAllText(_root.Combine("stop"), "");

    private string Text() => Encoding.UTF8.GetString(_stderr.ToArray());

    private List<string> Messages() =>
        Directory.Exists(RunHarness.WalDirectory(_root.Path)) ? RunHarness.Entries(_root.Path, live: true).Messages("stdout") : [];

    private List<string> Ticks(string prefix, string phase) =>
        [.. Messages().Where(m => m.StartsWith(prefix + " ", StringComparison.Ordinal) && m.EndsWith(" " + phase, StringComparison.Ordinal))];

    /// <summary>The messages of the lines a server holds that were written in <paramref name="phase"/>.</summary>
    private static List<string> Shipped(TestServer server, string phase) =>
        [.. server.Entries.Select(Message).Where(m => m.EndsWith(" " + phase, StringComparison.Ordinal))];

    private static string Message(StoredEntry entry) => JsonDocument.Parse(entry.Line).RootElement.GetProperty("msg").GetString()!;

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Patience, $"No {what} within {Patience.TotalSeconds} s.");
            await Task.Delay(20);
        }
    }
}
