using System.Diagnostics;
using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using Ship = LogPersist.Tests.Support.Shipping;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Cli;

/// <summary>
/// The tool as its own process, for what only a process has: real SIGTERMs reaching the handlers of
/// <see cref="LogPersist.Cli.CliContext.ForProcess"/>.
/// </summary>
public sealed class ToolProcessTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Drain_stops_on_a_real_SIGTERM_while_Loki_fails_keeps_the_WAL_and_exits_1()
    {
        await using var server = await TestServer.StartAsync();
        // Loki answers 503 for a while: the drain retries until the signal stops it.
        server.Enqueue(Enumerable.Repeat(ScriptedResponse.Status(503), 200).ToArray());
        var directory = WriteWal(200);

        using var tool = Start("drain", directory, "--loki", server.BaseAddress.ToString(), "--json");
        await Ship.WaitForAsync(() => server.Requests.Count > 0, "the first push");
        Signal(tool, "TERM");
        var output = await tool.StandardOutput.ReadToEndAsync();
        await tool.WaitForExitAsync().WaitAsync(Patience);

        Assert.Equal(1, tool.ExitCode);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("interrupted", json.RootElement.GetProperty("directories")[0].GetProperty("status").GetString());
        Assert.NotEmpty(Directory.GetFiles(directory, "*.wal"));
        Resends.AssertNone(server);
    }

    [Fact]
    public async Task Run_forwards_a_real_SIGTERM_to_its_child_and_exits_with_the_childs_code()
    {
        using var tool = Start(
            "run", "--directory", _temp.Path, "--service", RunHarness.Service, "--instance", RunHarness.Instance, "--",
            "/bin/sh", "-c", "trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
        Assert.Equal("ready", await tool.StandardOutput.ReadLineAsync().WaitAsync(Patience));

        Signal(tool, "TERM");
        var rest = await tool.StandardOutput.ReadToEndAsync().WaitAsync(Patience);
        await tool.WaitForExitAsync().WaitAsync(Patience);

        Assert.Equal(7, tool.ExitCode);
        Assert.Equal("bye", rest.Trim());
        Assert.Equal(["ready", "bye"], RunHarness.Entries(_temp.Path).Messages("stdout"));
    }

    [Fact]
    public async Task Run_keeps_its_Loki_password_from_the_child()
    {
        using var tool = Start(
            new Dictionary<string, string> { ["LOKI_PASSWORD"] = "s3cret", ["LOKI_USERNAME"] = "shipper" },
            "run", "--directory", _temp.Path, "--service", RunHarness.Service, "--instance", RunHarness.Instance, "--",
            "/bin/sh", "-c", "echo \"password=${LOKI_PASSWORD-unset} user=${LOKI_USERNAME-unset}\"");
        var output = await tool.StandardOutput.ReadToEndAsync().WaitAsync(Patience);
        await tool.WaitForExitAsync().WaitAsync(Patience);

        Assert.Equal(0, tool.ExitCode);
        Assert.Equal("password=unset user=shipper", output.Trim());
    }

    private static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    private static Process Start(Dictionary<string, string> environment, params string[] args) => ToolProcess.Start(args, environment);

    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private string WriteWal(int count)
    {
        using var pipeline = LogPipeline.Open(new LogPersistOptions
        {
            Directory = _temp.Path,
            ServiceName = "api",
            Instance = "api-9",
            LokiUrl = "",
            SegmentBytes = 1 << 20,
            MaxDiskBytes = 16 << 20,
            Environment = _ => null,
        });
        var encoder = new EntryEncoder();
        for (var i = 0; i < count; i++)
        {
            Assert.True(pipeline.Append(encoder.Encode(Ship.Entry(i))));
        }

        return pipeline.Directory;
    }
}
