using LogPersist.Adoption;
using LogPersist.Kubernetes;
using LogPersist.KubernetesTestServer;
using LogPersist.Tests.Support;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Kubernetes;

/// <summary>The watch behind Kubernetes liveness: it resumes from the last resource version it saw, and lists again on 410 Gone.</summary>
public sealed class PodWatchTests
{
    [Fact]
    public async Task A_dropped_watch_resumes_from_the_last_version_and_a_410_Gone_lists_again()
    {
        await using var api = await FakeKubernetesApi.StartAsync();
        var self = api.Add("orders-b");
        await using var liveness = new PodLiveness(new KubernetesLivenessOptions
        {
            Configuration = () => new k8s.KubernetesClientConfiguration { Host = api.BaseAddress.ToString() },
            RetryDelay = TimeSpan.FromMilliseconds(50),
            Environment = name => name switch { "POD_NAME" => "orders-b", "POD_UID" => self, _ => null },
        });
        liveness.Start();
        await WaitForAsync(() => api.WatchVersions.Count == 1, "the list and the first watch");
        Assert.Equal(1, api.Lists);

        // An event on the watch moves the version on; a dropped connection resumes from it, without a list.
        var c = api.Add("orders-c");
        await WaitForAsync(() => liveness.Watch!.Phase(c) == "Running", "the watch to deliver orders-c");
        var seen = liveness.Watch!.ResourceVersion;
        api.DropWatches();
        await WaitForAsync(() => api.WatchVersions.Count == 2, "the watch to resume");
        Assert.Equal(seen, api.WatchVersions[1]);
        Assert.Equal(1, api.Lists);

        // A pod added after the resume is known from the watch: no read by name.
        var d = api.Add("orders-d");
        await WaitForAsync(() => liveness.Watch!.Phase(d) == "Running", "the resumed watch to deliver orders-d");
        Assert.Equal(HolderVerdict.Exists, (await liveness.CheckAsync(new HolderIdentity("orders-d", d, null), CancellationToken.None)).Verdict);
        Assert.Equal(0, api.Reads("orders-d"));

        // History compacted past the version the watch holds: the server answers 410 Gone, and the pods are listed again.
        api.Delete("orders-c");
        await WaitForAsync(() => liveness.Watch!.Phase(c) is null, "the watch to deliver the deletion");
        api.Compact();
        api.DropWatches();
        await WaitForAsync(() => api.Lists == 2, "a new list after 410 Gone");
        await WaitForAsync(() => liveness.Watch!.IsCurrent, "the new list to be taken");
        Assert.Equal(HolderVerdict.Gone, (await liveness.CheckAsync(new HolderIdentity("orders-c", c, null), CancellationToken.None)).Verdict);
        Assert.Null(liveness.Watch!.Problem);
    }

    [Fact]
    public async Task Outside_a_cluster_every_answer_says_why_and_nothing_is_judged_gone()
    {
        await using var liveness = new PodLiveness(new KubernetesLivenessOptions { Environment = _ => null });
        liveness.Start();

        var answer = await liveness.CheckAsync(new HolderIdentity("orders-a", "uid-a", null), CancellationToken.None);

        Assert.Equal(HolderVerdict.Unknown, answer.Verdict);
        Assert.Contains("no in-cluster configuration", answer.Problem, StringComparison.Ordinal);
    }
}
