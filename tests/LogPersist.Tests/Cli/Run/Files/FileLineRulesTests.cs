using LogPersist.Cli;
using LogPersist.Cli.Run.Files;

namespace LogPersist.Tests.Cli.Run.Files;

public sealed class FileLineRulesTests
{
    [Theory]
    [InlineData("raylet.out", "raylet")]
    [InlineData("raylet.err", "raylet")]
    [InlineData("raylet.out.3", "raylet")]
    [InlineData("gcs_server.out", "gcs_server")]
    [InlineData("worker-2d0b6c4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e-01000000-4242.out", "worker")]
    [InlineData("worker-2d0b6c4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e-ffffffff-17.err", "worker")]
    [InlineData("io-worker-2d0b6c4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e-5100.out", "io-worker")]
    [InlineData("python-core-worker-2d0b6c4f1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e_4242.log", "python-core-worker")]
    [InlineData("python-core-driver-01000000ffffffffffffffffffffffffffffffffffffffffffffffff_88.log", "python-core-driver")]
    [InlineData("job-driver-raysubmit_pZ9qWxYv.log", "job-driver")]
    [InlineData("dashboard.log", "dashboard")]
    [InlineData("dashboard_agent.log", "dashboard_agent")]
    [InlineData("runtime_env_agent.log", "runtime_env_agent")]
    [InlineData("runtime_env_setup-01000000.log", "runtime_env_setup")]
    [InlineData("log_monitor.log", "log_monitor")]
    [InlineData("monitor.out", "monitor")]
    [InlineData("ray_client_server_23000.out", "ray_client_server")]
    [InlineData("event_RAYLET.log", "event")]
    public void Ray_files_are_named_after_the_process_that_writes_them_never_its_ids(string file, string component) =>
        Assert.Equal(component, new FileLineRules().Component("/tmp/ray/session_latest/logs/" + file));

    [Theory]
    [InlineData("grape_engine.graphscope-0.root.log.INFO.20261204-010203.42", "grape_engine")]
    [InlineData("grape_engine.graphscope-0.cluster.local.root.log.WARNING.20261204-010203.42", "grape_engine")]
    [InlineData("grape_engine.INFO", "grape_engine")]
    [InlineData("vineyardd.ERROR", "vineyardd")]
    public void Glog_files_and_their_severity_links_are_named_after_the_program(string file, string component) =>
        Assert.Equal(component, new FileLineRules().Component("/var/log/gs/" + file));

    [Theory]
    [InlineData("app.log", "app")]
    [InlineData("audit.log.1", "audit")]
    [InlineData("access_2026-12-04.log", "access")]
    [InlineData("my-service-7f9c4d-x2kq.log", "my-service")]
    [InlineData("20261204.log", "file")]
    [InlineData("trace", "trace")]
    public void Other_files_are_named_by_their_leading_words_without_ids_or_dates(string file, string component) =>
        Assert.Equal(component, new FileLineRules().Component("/logs/" + file));

    [Fact]
    public void A_user_rule_comes_first_and_may_use_what_its_groups_matched()
    {
        var rules = new FileLineRules([ComponentRule.Parse(@"^worker-.*\.err$=worker-stderr"), ComponentRule.Parse(@"^(?<tenant>[a-z]+)-shard\d+\.log$=${tenant}")]);

        Assert.Equal("worker-stderr", rules.Component("/r/worker-abc-01000000-12.err"));
        Assert.Equal("worker", rules.Component("/r/worker-abc-01000000-12.out"));
        Assert.Equal("billing", rules.Component("/r/billing-shard7.log"));
    }

    [Theory]
    [InlineData("no-equals-sign")]
    [InlineData("=name")]
    [InlineData("pattern=")]
    [InlineData("([unclosed=name")]
    public void A_malformed_user_rule_is_a_usage_error_that_names_it(string rule)
    {
        var error = Assert.Throws<UsageException>(() => ComponentRule.Parse(rule));
        Assert.Contains("--component", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Past_the_limit_new_names_become_other_and_the_first_is_reported()
    {
        var error = new StringWriter();
        var rules = new FileLineRules([ComponentRule.Parse(@"^(\w+)\.log$=$1")], error);
        for (var i = 0; i < FileLineRules.MaxComponents; i++)
        {
            Assert.Equal($"c{i}x", rules.Component($"/l/c{i}x.log"));
        }

        Assert.Equal("", error.ToString());
        Assert.Equal(FileLineRules.OverflowComponent, rules.Component("/l/one_more.log"));
        Assert.Equal(FileLineRules.OverflowComponent, rules.Component("/l/and_another.log"));
        Assert.Equal("c3x", rules.Component("/l/c3x.log"));
        Assert.Equal(2, rules.Overflowed);
        var report = error.ToString();
        Assert.Contains("'/l/one_more.log'", report, StringComparison.Ordinal);
        Assert.DoesNotContain("and_another", report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_result_longer_than_the_limit_is_cut()
    {
        var rules = new FileLineRules([ComponentRule.Parse(@"^(.*)$=$1")]);

        Assert.Equal(new string('n', FileLineRules.MaxComponentLength), rules.Component("/l/" + new string('n', 300)));
    }
}
