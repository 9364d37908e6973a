using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;

namespace LogPersist.Tests.Cli.Run.Files;

/// <summary>
/// <c>logpersist run --files '/tmp/ray/session_latest/logs/*'</c> around a script that behaves like a Ray
/// node: new worker files keep appearing, a rotating handler renames its file, a file is copied and
/// truncated, a file is deleted while held open, and a new session moves the <c>session_latest</c>
/// link. Every line reaches Loki once, with its component and level, in a few bounded streams.
/// </summary>
public sealed class RayNodeTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// The node. <c>w FILE COMPONENT LEVEL TEXT</c> appends TEXT to FILE and notes it, with the component
    /// and level it must arrive with, in the manifest (outside the followed directory).
    /// </summary>
    private const string Node = """
        set -eu
        base="$1"; manifest="$2"
        w() { printf '%s\n' "$4" >> "$1"; printf '%s|%s|%s\n' "$2" "$3" "$4" >> "$manifest"; }
        session() { mkdir -p "$base/$1/logs"; ln -sfn "$1" "$base/link.tmp"; mv -T "$base/link.tmp" "$base/session_latest"; }
        cpp() { printf '[2026-12-04 01:02:03,%03d %s 4242 4250] (%s) main.cc:%d: %s line %d' "$3" "$1" "$2" "$3" "$2" "$3"; }
        session session_2026-12-04_01-00-00_000001_1
        logs="$base/session_latest/logs"
        for i in $(seq 1 20); do w "$logs/raylet.out" raylet info "$(cpp I raylet $i)"; done
        for i in $(seq 1 8); do w "$logs/gcs_server.out" gcs_server info "$(cpp I gcs_server $i)"; done
        w "$logs/gcs_server.out" gcs_server warn "$(cpp W gcs_server 9)"
        w "$logs/gcs_server.err" gcs_server error "$(cpp E gcs_server 10)"
        sleep 0.3
        # Workers start one after another: task output in .out, Python logging's default format in .err.
        for k in 1 2 3 4 5; do
          id="$(printf '%056x' $((k * 7919)))"
          for i in $(seq 1 10); do w "$logs/worker-$id-01000000-$((4300 + k)).out" worker info "task $k printed $i"; done
          w "$logs/worker-$id-01000000-$((4300 + k)).err" worker error "ERROR:root:task $k failed once"
          w "$logs/worker-$id-01000000-$((4300 + k)).err" worker warn "WARNING:ray:task $k retried"
          sleep 0.05
        done
        # A rotating handler: the file is renamed to .1 and a new one started.
        core="$logs/python-core-worker-$(printf '%056x' 31337)_4301.log"
        for i in $(seq 1 30); do w "$core" python-core-worker info "$(cpp I core_worker $i)"; done
        sleep 0.3
        for i in $(seq 31 35); do w "$core" python-core-worker debug "$(cpp D core_worker $i)"; done
        mv "$core" "$core.1"
        for i in $(seq 36 60); do w "$core" python-core-worker info "$(cpp I core_worker $i)"; done
        # Copy and truncate (logrotate's copytruncate).
        for i in $(seq 1 30); do w "$logs/dashboard.log" dashboard info "2026-12-04 01:02:03,$(printf '%03d' $i)	INFO head.py:$i -- dashboard line $i"; done
        sleep 0.3
        cp "$logs/dashboard.log" "$logs/dashboard.log.1"
        : > "$logs/dashboard.log"
        for i in $(seq 31 40); do w "$logs/dashboard.log" dashboard warn "2026-12-04 01:02:04,$(printf '%03d' $i)	WARNING head.py:$i -- dashboard line $i"; done
        # A file deleted while its writer still holds it: what it held is read through the open handle.
        gone="$logs/job-driver-raysubmit_XyZ12.log"
        exec 3>>"$gone"
        for i in $(seq 1 10); do printf 'driver line %d\n' $i >&3; printf 'job-driver|info|driver line %d\n' $i >> "$manifest"; done
        sleep 0.3
        for i in $(seq 11 15); do printf 'driver line %d\n' $i >&3; printf 'job-driver|info|driver line %d\n' $i >> "$manifest"; done
        rm "$gone"
        exec 3>&-
        sleep 0.3
        # A new session: the link moves; its files are new files, read from their first line.
        session session_2026-12-04_02-00-00_000002_1
        for i in $(seq 1 15); do w "$logs/raylet.out" raylet info "$(cpp I raylet $((100 + i)))"; done
        for i in $(seq 1 5); do w "$logs/gcs_server.out" gcs_server critical "$(cpp C gcs_server $((100 + i)))"; done
        id="$(printf '%056x' 4242)"
        for i in $(seq 1 10); do w "$logs/worker-$id-02000000-4400.out" worker info "session two task printed $i"; done
        """;

    [LinuxFact]
    public async Task Every_line_of_a_ray_node_arrives_once_with_its_component_level_and_pod_labels_in_bounded_streams()
    {
        await using var loki = await TestServer.StartAsync();
        var ray = _temp.Combine("ray");
        Directory.CreateDirectory(ray);
        var manifest = _temp.Combine("manifest");
        var labels = _temp.Combine("podinfo-labels");
        File.WriteAllText(labels, "app.kubernetes.io/created-by=\"kuberay-operator\"\nray.io/cluster=\"raycluster-demo\"\nray.io/group=\"small \\\"gpu\\\" group\"\nray.io/node-type=\"worker\"\n");
        var script = _temp.Combine("node.sh");
        File.WriteAllText(script, Node);

        var result = await RunHarness.RunAsync([
            "run", "--directory", _temp.Combine("wal"), "--service", "ray", "--instance", "raycluster-demo-worker-abcde",
            "--loki", loki.BaseAddress.ToString(), "--flush-timeout", "30s",
            "--files", Path.Combine(ray, "session_latest", "logs", "*"),
            "--pod-labels-file", labels, "--pod-label", "ray.io/cluster", "--pod-label", "ray.io/node-type", "--pod-label", "ray.io/group", "--pod-label", "ray.io/missing",
            "--", "/bin/sh", script, ray, manifest]);

        Assert.True(result.ExitCode == 0, result.StderrText);
        Assert.Contains("no label 'ray.io/missing'", result.StderrText, StringComparison.Ordinal);
        var expected = File.ReadAllLines(manifest).Select(l => l.Split('|', 3)).Select(p => (Component: p[0], Level: p[1], Message: p[2])).ToList();
        await loki.WaitForEntriesAsync(expected.Count, Patience);
        var stored = loki.Entries.Select(e => (Entry: e, Line: JsonDocument.Parse(e.Line).RootElement)).ToList();

        FollowedLines.AssertExactlyOnce(expected.Select(e => e.Message), stored.Select(s => new RunEntry("file", EntryLevel.Information, s.Line.GetProperty("msg").GetString()!, s.Entry.TimestampNs, s.Line)));
        var byMessage = stored.ToDictionary(s => s.Line.GetProperty("msg").GetString()!, StringComparer.Ordinal);
        Assert.All(expected, e =>
        {
            var (entry, line) = byMessage[e.Message];
            Assert.Equal((e.Component, e.Level), (entry.LabelMap["component"], line.GetProperty("level").GetString()));
            Assert.Equal("file", line.GetProperty("category").GetString());
            Assert.StartsWith(ray, line.GetProperty("file").GetString(), StringComparison.Ordinal);
        });

        // The streams: one per component, each with the pod's labels, none carrying a file name or an id.
        var streams = stored.Select(s => s.Entry.Labels).Distinct(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(e => e.Component).Distinct().Count(), streams.Count);
        Assert.All(stored, s =>
        {
            Assert.Equal("raycluster-demo", s.Entry.LabelMap["ray_io_cluster"]);
            Assert.Equal("worker", s.Entry.LabelMap["ray_io_node_type"]);
            Assert.Equal("small \"gpu\" group", s.Entry.LabelMap["ray_io_group"]);
            Assert.False(s.Entry.LabelMap.ContainsKey("ray_io_missing"));
            Assert.False(s.Entry.LabelMap.ContainsKey("file"));
        });
        Assert.All(streams, labelSet => Assert.DoesNotContain("0000000000", labelSet, StringComparison.Ordinal));
    }

    [LinuxFact]
    public async Task A_thousand_worker_files_make_one_stream_and_each_line_keeps_its_file_name()
    {
        await using var loki = await TestServer.StartAsync();
        var logs = _temp.Combine("logs");
        Directory.CreateDirectory(logs);
        var names = Enumerable.Range(0, 1000).Select(k => $"worker-{k * 104729:x56}-01000000-{10000 + k}.out").ToList();
        foreach (var name in names)
        {
            File.WriteAllText(Path.Combine(logs, name), $"hello from {name}\n");
        }

        var result = await RunHarness.RunAsync([
            "run", "--directory", _temp.Combine("wal"), "--service", "ray", "--instance", "node-1",
            "--loki", loki.BaseAddress.ToString(), "--flush-timeout", "30s",
            "--files", Path.Combine(logs, "worker-*"), "--", "/bin/true"]);

        Assert.True(result.ExitCode == 0, result.StderrText);
        Assert.True(await loki.WaitForEntriesAsync(names.Count, Patience), $"Loki holds {loki.EntryCount} of {names.Count} lines.");
        var stored = loki.Entries;
        Assert.Single(stored.Select(e => e.Labels).Distinct(StringComparer.Ordinal));
        Assert.All(stored, e => Assert.Equal("worker", e.LabelMap["component"]));
        var files = stored.Select(e => JsonDocument.Parse(e.Line).RootElement.GetProperty("file").GetString()!).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(names.Select(n => Path.Combine(logs, n)).ToHashSet(StringComparer.Ordinal), files);
    }
}
