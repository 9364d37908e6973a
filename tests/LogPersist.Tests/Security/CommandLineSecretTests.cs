using LogPersist.Tests.Cli;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Security;

/// <summary>
/// Every user of a node can read every command line (<c>ps</c>, <c>/proc/*/cmdline</c>) for as long as the
/// process runs. The tool refuses credentials there and says where they go instead; its export of a
/// WAL is as private as the WAL.
/// </summary>
public sealed class CommandLineSecretTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _temp.Dispose();
    }

    [Theory]
    [InlineData("drain")]
    [InlineData("run")]
    public async Task Credentials_in_the_Loki_URL_on_the_command_line_are_refused(string command)
    {
        var url = new UriBuilder(_server.BaseAddress) { UserName = "admin", Password = "s3cret" }.Uri.ToString();

        var result = await Run(command, "--loki", url);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--password-file", result.Error, StringComparison.Ordinal);
        Assert.Contains("LOKI_URL", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", result.Error, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
        Assert.False(File.Exists(_temp.Combine("started")), "the child is not started");
    }

    [Theory]
    [InlineData("drain", "Authorization=Bearer abc")]
    [InlineData("drain", "X-Api-Key=abc")]
    [InlineData("run", "authorization=Basic YWRtaW46czNjcmV0")]
    [InlineData("run", "X-Auth-Token=abc")]
    [InlineData("run", "Cookie=session=abc")]
    public async Task A_credential_header_on_the_command_line_is_refused_pointing_to_a_file(string command, string header)
    {
        var result = await Run(command, "--loki", _server.BaseAddress.ToString(), "--header", header);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--header-file", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", result.Error, StringComparison.Ordinal);
        Assert.Empty(_server.Requests);
        Assert.False(File.Exists(_temp.Combine("started")), "the child is not started");
    }

    [Fact]
    public async Task A_header_whose_value_is_in_a_file_is_sent_and_an_ordinary_header_is_still_taken()
    {
        var keyFile = _temp.Combine("api-key");
        File.WriteAllText(keyFile, "k-123\n");

        var result = await Run("run", "--loki", _server.BaseAddress.ToString(), "--header-file", "X-Api-Key=" + keyFile, "--header", "X-Team=orders");

        Assert.Equal(0, result.ExitCode);
        Assert.NotEmpty(_server.Requests);
        Assert.All(_server.Requests.Where(r => r.Entries > 0), r =>
        {
            Assert.Equal("k-123", r.Headers["X-Api-Key"]);
            Assert.Equal("orders", r.Headers["X-Team"]);
        });
    }

    [Fact]
    public async Task Export_out_creates_an_owner_only_file_and_narrows_one_it_replaces()
    {
        var wal = _temp.Combine("wal");
        InspectWals.Write(wal, Enumerable.Range(0, 5).Select(i => InspectWals.Entry(i)));
        var created = _temp.Combine("created.jsonl");
        var replaced = _temp.Combine("replaced.jsonl");
        File.WriteAllText(replaced, "old");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(replaced, (UnixFileMode)0b110_100_100);
        }

        Assert.Equal(0, (await CliRunner.RunAsync("export", wal, "--format", "jsonl", "--out", created)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("export", wal, "--format", "jsonl", "--out", replaced)).ExitCode);

        Assert.Equal(5, File.ReadAllLines(created).Length);
        Assert.Equal(5, File.ReadAllLines(replaced).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(created));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(replaced));
        }
    }

    /// <summary>Runs drain (of a small WAL) or run (of a shell that marks that it started) with the given Loki options.</summary>
    private async Task<CliResult> Run(string command, params string[] loki)
    {
        if (command == "drain")
        {
            var wal = _temp.Combine("default", "svc", "pod-1");
            InspectWals.Write(wal, Enumerable.Range(0, 3).Select(i => InspectWals.Entry(i)));
            return await CliRunner.RunAsync(["drain", wal, .. loki]);
        }

        var result = await RunHarness.RunAsync(["run", "--directory", _temp.Combine("run"), "--service", "svc", "--instance", "pod-1", .. loki, "--", "sh", "-c", $"touch '{_temp.Combine("started")}'; echo hello"]);
        return new CliResult(result.ExitCode, "", result.StderrText);
    }
}
