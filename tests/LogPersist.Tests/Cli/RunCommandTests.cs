using System.Text;
using LogPersist.Cli.Run;
using LogPersist.Pipeline;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Cli;

public sealed class RunCommandTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Run_records_stdout_and_stderr_lines_in_order_marked_by_their_stream()
    {
        var result = await RunHarness.ShellAsync(_root.Path, "for i in $(seq 1 200); do echo out $i; echo err $i >&2; done");

        Assert.Equal(0, result.ExitCode);
        var entries = RunHarness.Entries(_root.Path);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"out {i}"), entries.Messages("stdout"));
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"err {i}"), entries.Messages("stderr"));
        // Ray and many services write everything to stderr: the stream alone says nothing about severity.
        Assert.All(entries, e => Assert.Equal(EntryLevel.Information, e.Level));
        Assert.All(entries, e => Assert.Equal(e.Category, e.Line.GetProperty("category").GetString()));
        foreach (var stream in new[] { "stdout", "stderr" })
        {
            var times = entries.Where(e => e.Category == stream).Select(e => e.TimestampNs).ToList();
            Assert.Equal(times.Distinct().Order(), times);
        }
    }

    [Fact]
    public async Task Run_passes_the_childs_output_through_byte_for_byte()
    {
        // CRLF, bytes that are not UTF-8, an empty line and a last line without a newline.
        var result = await RunHarness.ShellAsync(_root.Path, @"printf 'one\r\ntwo \377\376 end\n\nlast'; printf 'e1\ne\3012' >&2");

        Assert.Equal([.. "one\r\ntwo "u8, 0xFF, 0xFE, .. " end\n\nlast"u8], result.Stdout);
        Assert.Equal([.. "e1\ne"u8, 0xC1, .. "2"u8], result.Stderr);
        var entries = RunHarness.Entries(_root.Path);
        Assert.Equal(["one", "two \uFFFD\uFFFD end", "", "last"], entries.Messages("stdout"));
        Assert.Equal(["e1", "e\uFFFD2"], entries.Messages("stderr"));
    }

    [Fact]
    public async Task Run_exits_with_the_childs_exit_code()
    {
        var result = await RunHarness.ShellAsync(_root.Path, "echo failing; exit 3");

        Assert.Equal(3, result.ExitCode);
        Assert.Equal(["failing"], RunHarness.Entries(_root.Path).Messages("stdout"));
    }

    [Fact]
    public async Task Run_forwards_SIGTERM_to_the_child_and_records_what_it_prints_while_stopping()
    {
        using var stop = new CancellationTokenSource();
        var stdout = new RecordingStream();
        var run = RunHarness.ShellAsync(_root.Path, "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done", cancellation: stop.Token, stdout: stdout);
        Assert.True(await stdout.WaitForAsync("ready", Patience), "the child did not start");

        stop.Cancel();
        var result = await run;

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["ready", "bye"], RunHarness.Entries(_root.Path).Messages("stdout"));
    }

    [Fact]
    public async Task Run_keeps_every_line_of_a_child_killed_by_SIGKILL_and_exits_137()
    {
        const int count = 20_000;
        var result = await RunHarness.ShellAsync(_root.Path, $"i=1; while [ $i -le {count} ]; do echo line $i; i=$((i+1)); done; kill -9 $$");

        Assert.Equal(128 + 9, result.ExitCode);
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"line {i}"), RunHarness.Entries(_root.Path).Messages("stdout"));
    }

    [Fact]
    public async Task Run_exits_128_plus_the_signal_when_a_signal_ends_the_child()
    {
        var result = await RunHarness.ShellAsync(_root.Path, "echo going; echo still >&2; kill -TERM $$");

        Assert.Equal(128 + 15, result.ExitCode);
        Assert.Equal(["going"], RunHarness.Entries(_root.Path).Messages("stdout"));
        Assert.Equal(["still"], RunHarness.Entries(_root.Path).Messages("stderr"));
    }

    [Fact]
    public async Task Run_records_a_JSON_object_line_as_a_structured_entry()
    {
        var script = """
            echo '{"time":"2024-05-01T10:00:00Z","levelname":"WARNING","msg":"disk almost full","free_mb":12,"ratio":0.5,"node":{"id":"a1","tags":["x","y"]}}'
            echo '{"severity":"Error","message":"failed"}' >&2
            echo '{"level":50,"msg":"pino error"}'
            echo '{"level":"chatty","msg":"unknown level"}'
            echo '[1,2,3]'
            echo '{"msg":"cut off"'
            echo '{"msg":"a"} trailing'
            """;
        var result = await RunHarness.ShellAsync(_root.Path, script);

        Assert.Equal(0, result.ExitCode);
        var entries = RunHarness.Entries(_root.Path);
        // Order holds within a stream; stdout and stderr are read side by side.
        var stdout = entries.Where(e => e.Category == "stdout").ToList();
        var warning = stdout[0];
        Assert.Equal(("stdout", EntryLevel.Warning, "disk almost full"), (warning.Category, warning.Level, warning.Message));
        Assert.Equal("2024-05-01T10:00:00Z", warning.Line.GetProperty("time").GetString());
        Assert.Equal(12, warning.Line.GetProperty("free_mb").GetInt32());
        Assert.Equal(0.5, warning.Line.GetProperty("ratio").GetDouble());
        Assert.Equal("y", warning.Line.GetProperty("node").GetProperty("tags")[1].GetString());
        Assert.False(warning.Line.TryGetProperty("levelname", out _));

        var error = entries.Single(e => e.Category == "stderr");
        Assert.Equal((EntryLevel.Error, "failed"), (error.Level, error.Message));

        Assert.Equal((EntryLevel.Error, "pino error"), (stdout[1].Level, stdout[1].Message));
        // An unknown level keeps the line's default level and stays a property, not lost.
        Assert.Equal((EntryLevel.Information, "unknown level", "chatty"), (stdout[2].Level, stdout[2].Message, stdout[2].Line.GetProperty("_level").GetString()));
        Assert.Equal(["[1,2,3]", "{\"msg\":\"cut off\"", "{\"msg\":\"a\"} trailing"], stdout.Skip(3).Select(e => e.Message));
    }

    [Fact]
    public async Task Run_records_an_over_long_line_in_pieces_that_join_to_the_line()
    {
        // 256-byte lines leave 192 bytes per piece; the line mixes one-, two- and three-byte characters.
        var line = string.Concat(Enumerable.Range(0, 300).Select(i => (i % 3) switch { 0 => "a", 1 => "é", _ => "€" }));
        var result = await RunHarness.ShellAsync(_root.Path, $"printf '%s\\nshort\\n' '{line}'", ["--max-line-bytes", "256"]);

        Assert.Equal(0, result.ExitCode);
        var entries = RunHarness.Entries(_root.Path);
        var pieces = entries.SkipLast(1).ToList();
        Assert.True(pieces.Count >= 3);
        Assert.Equal(line, string.Concat(pieces.Select(p => p.Message)));
        Assert.All(pieces, p => Assert.True(Encoding.UTF8.GetByteCount(p.Message) <= RunOptions.PieceBytes(256)));
        Assert.Equal(Enumerable.Range(1, pieces.Count), pieces.Select(p => p.Line.GetProperty("part").GetInt32()));
        Assert.True(pieces[^1].Line.GetProperty("last_part").GetBoolean());
        Assert.False(pieces[0].Line.TryGetProperty("last_part", out _));
        Assert.Equal("short", entries[^1].Message);
        Assert.False(entries[^1].Line.TryGetProperty("part", out _));
    }

    [Fact]
    public async Task Run_ships_the_lines_to_Loki_under_the_service_label()
    {
        await using var server = await TestServer.StartAsync();

        var result = await RunHarness.ShellAsync(_root.Path, "echo hello; echo world >&2", ["--loki", server.BaseAddress.ToString(), "--label", "team=data"]);

        Assert.Equal(0, result.ExitCode);
        Assert.True(await server.WaitForEntriesAsync(2, Patience));
        var entries = server.Entries;
        Assert.All(entries, e => Assert.Equal(RunHarness.Service, e.LabelMap["service_name"]));
        Assert.All(entries, e => Assert.Equal("data", e.LabelMap["team"]));
        Assert.Contains(entries, e => e.Line.Contains("\"msg\":\"hello\"", StringComparison.Ordinal) && e.Line.Contains("\"category\":\"stdout\"", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Line.Contains("\"msg\":\"world\"", StringComparison.Ordinal) && e.Line.Contains("\"category\":\"stderr\"", StringComparison.Ordinal));
        Resends.AssertNone(server);
    }

    [Fact]
    public async Task Run_sends_the_fields_named_by_metadata_as_structured_metadata()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { Dialect = LogPersist.LokiTestServer.LokiDialect.Of(3, 5), Version = "3.5.0" });

        var result = await RunHarness.ShellAsync(
            _root.Path,
            """echo '{"msg":"paid","user_id":"u-9","amount":12}'""",
            ["--loki", server.BaseAddress.ToString(), "--metadata", "user_id"]);

        Assert.Equal(0, result.ExitCode);
        Assert.True(await server.WaitForEntriesAsync(1, Patience));
        var entry = Assert.Single(server.Entries, e => e.Line.Contains("paid", StringComparison.Ordinal));
        Assert.Contains(new KeyValuePair<string, string>("user_id", "u-9"), entry.StructuredMetadata);
        Assert.DoesNotContain("u-9", entry.Line, StringComparison.Ordinal);
        Assert.Contains("\"amount\":12", entry.Line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_exits_127_when_the_command_cannot_be_started()
    {
        var result = await RunHarness.RunAsync(["run", "--directory", _root.Path, "--instance", "pod-1", "--", "/nonexistent/command-that-is-not-there"]);

        Assert.Equal(127, result.ExitCode);
        Assert.Contains("cannot start '/nonexistent/command-that-is-not-there'", result.StderrText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_exits_126_when_the_command_exists_but_cannot_be_executed()
    {
        // A directory: it exists, and exec refuses it (EACCES), as it does a file without execute permission.
        var result = await RunHarness.RunAsync(["run", "--directory", _root.Path, "--instance", "pod-1", "--", _root.Path]);

        Assert.Equal(126, result.ExitCode);
    }

    [LinuxFact]
    public async Task Run_starts_the_child_with_SIGPIPE_at_its_default_action_on_Linux()
    {
        var result = await RunHarness.ShellAsync(_root.Path, "grep SigIgn /proc/self/status");

        Assert.Equal(0, result.ExitCode);
        var mask = Convert.ToUInt64(Encoding.UTF8.GetString(result.Stdout).Split(':')[1].Trim(), 16);
        Assert.Equal(0UL, mask & (1UL << (13 - 1)));
    }

    [Fact]
    public async Task Run_told_to_stop_before_the_child_started_does_not_start_it()
    {
        var marker = _root.Combine("started");
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();

        var result = await RunHarness.ShellAsync(_root.Path, $"touch '{marker}'", cancellation: stopped.Token);

        Assert.Equal(143, result.ExitCode);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Run_ships_an_over_long_line_of_quotes_whole_even_where_escaping_makes_pieces_longer_than_the_limit()
    {
        await using var server = await TestServer.StartAsync(new LokiTestServerOptions { MaxLineBytes = 1024 });

        var result = await RunHarness.ShellAsync(_root.Path, "awk 'BEGIN { s = \"\"; for (i = 0; i < 3000; i++) s = s \"\\\"\"; print s }'", ["--loki", server.BaseAddress.ToString(), "--max-line-bytes", "1024"]);

        Assert.Equal(0, result.ExitCode);
        Assert.True(await server.WaitForEntriesAsync(4, Patience));
        // Cut short, each piece would keep about 500 of its 768 quotes; split, all 3,000 arrive (plus the JSON's own).
        Assert.All(server.Entries, e => Assert.DoesNotContain("[truncated", e.Line, StringComparison.Ordinal));
        Assert.True(server.Entries.Sum(e => e.Line.Count(c => c == '"')) >= 3000);
        Resends.AssertNone(server);
    }

    [Fact]
    public async Task Run_defaults_the_service_to_the_commands_file_name()
    {
        var result = await RunHarness.RunAsync(["run", "--directory", _root.Path, "--instance", "pod-1", "--", "/bin/sh", "-c", "echo hi"]);

        Assert.Equal(0, result.ExitCode);
        Assert.True(Directory.Exists(Path.Combine(_root.Path, "default", "sh", "pod-1")));
    }

    [Theory]
    [InlineData("--max-disk-bytes", "1", "Invalid LogPersist options")]
    [InlineData("--max-line-bytes", "10", "MaxLineBytes must be between 256 bytes and 4 MiB")]
    [InlineData("--flush-timeout", "soon", "'soon' is not a duration")]
    [InlineData("--label", "novalue", "--label expects NAME=VALUE")]
    public async Task Run_rejects_invalid_options_with_exit_code_2_and_does_not_start_the_child(string option, string value, string message)
    {
        var marker = _root.Combine("started");
        var result = await RunHarness.ShellAsync(_root.Path, $"touch '{marker}'", [option, value]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StderrText, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Run_refuses_a_WAL_directory_held_by_another_writer_with_exit_code_2()
    {
        var options = new LogPersistOptions { Directory = _root.Path, ServiceName = RunHarness.Service, Instance = RunHarness.Instance, LokiUrl = "", Environment = _ => null };
        await using var holder = LogPipeline.Open(options);

        var result = await RunHarness.ShellAsync(_root.Path, "echo never");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is locked by", result.StderrText, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Run_keeps_up_with_a_child_that_floods_its_output()
    {
        const int count = 200_000;
        var result = await RunHarness.ShellAsync(_root.Path, $"seq 1 {count}; seq 1 {count} >&2");

        Assert.Equal(0, result.ExitCode);
        var entries = RunHarness.Entries(_root.Path);
        Assert.Equal(Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries.Messages("stdout"));
        Assert.Equal(count, entries.Messages("stderr").Count);
    }
}
