using System.Net;
using LogPersist.Adoption;
using LogPersist.Kubernetes;
using LogPersist.KubernetesTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using LogPersist.Wal.Ownership;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Adoption;

/// <summary>
/// Adoption that asks the API server: a directory whose pod is gone is claimed at the next scan, one whose
/// pod exists never is, however long its record stands still; when the API cannot answer, the lease rule
/// decides, and that is reported once. The adopter's clock is a manual one, so "minutes" pass in a test.
/// </summary>
public sealed class KubernetesLivenessTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private readonly ManualTime _time = new();
    private readonly System.IO.Abstractions.FileSystem _fileSystem = new();
    private FakeKubernetesApi _api = null!;
    private string _adopterUid = "";

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _adopterUid = _api.Add("orders-b");
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task A_deleted_pods_directory_is_claimed_at_the_first_scan_after_the_API_server_says_so()
    {
        var uid = _api.Add("orders-a");
        var orphan = Sibling("orders-a", uid);
        await using var adopter = Adopter(out var liveness);

        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(orphan), "a pod that exists is not adopted");

        _api.Delete("orders-a");
        await WaitForAsync(() => liveness.Watch is { IsCurrent: true } watch && watch.Phase(uid) is null, "the watch to see the deletion");
        await adopter.ScanOnceAsync();

        // No time passed on the adopter's clock: the lease played no part.
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(Path.Combine(Siblings.AdoptionArea(_root), AdoptionArea.AdoptedName("orders-a", 1))));
        Assert.Null(adopter.LivenessFallback);
    }

    [Fact]
    public async Task A_live_pods_directory_is_never_claimed_however_long_its_record_stands_still()
    {
        // NFS attribute caching can hide a live owner's renewals: to the adopter its record looks stale for minutes.
        var orphan = Sibling("orders-a", _api.Add("orders-a"));
        await using var adopter = Adopter(out var liveness);
        await WaitForAsync(() => liveness.Watch is { IsCurrent: true }, "the pods to be listed");

        for (var i = 0; i < 10; i++)
        {
            await adopter.ScanOnceAsync();
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.True(Directory.Exists(orphan));
        Assert.False(Directory.Exists(Siblings.AdoptionArea(_root)) && Directory.EnumerateFileSystemEntries(Siblings.AdoptionArea(_root)).Any());

        // Ten scans were answered from one list and its watch, not by reading the pod each time.
        Assert.Equal(0, _api.Reads("orders-a"));
        Assert.Equal(1, _api.Lists);
        Assert.Equal("app=orders", _api.LastSelector);
    }

    [Fact]
    public async Task A_statefulset_pod_recreated_under_a_new_uid_is_gone_for_its_old_uid()
    {
        var oldUid = _api.Add("orders-a");
        var orphan = Sibling("orders-a", oldUid);
        await using var adopter = Adopter(out var liveness);
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(orphan));

        var newUid = _api.Recreate("orders-a");
        await WaitForAsync(() => liveness.Watch is { IsCurrent: true } watch && watch.Phase(newUid) is not null, "the watch to see the new pod");
        await adopter.ScanOnceAsync();

        Assert.NotEqual(oldUid, newUid);
        Assert.False(Directory.Exists(orphan));
    }

    [Fact]
    public async Task A_pod_that_ended_is_gone_though_it_is_still_listed()
    {
        // An evicted pod stays in the API with phase Failed; its containers do not run again.
        var uid = _api.Add("orders-a");
        var orphan = Sibling("orders-a", uid);
        await using var adopter = Adopter(out var liveness);
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(orphan));

        _api.SetPhase("orders-a", "Failed");
        await WaitForAsync(() => liveness.Watch is { IsCurrent: true } watch && watch.Phase(uid) == "Failed", "the watch to see the pod end");
        await adopter.ScanOnceAsync();
        Assert.False(Directory.Exists(orphan));
    }

    [Theory]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    public async Task An_API_that_refuses_falls_back_to_the_lease_rule_and_says_so_once(HttpStatusCode status)
    {
        var events = new List<string>();
        using var listener = new EventCollector(events);
        _api.Refuse(status);
        var live = Sibling("orders-c", _api.Add("orders-c"));
        var gone = Sibling("orders-a", "uid-of-a-deleted-pod");
        await using var adopter = Adopter(out var liveness);

        // Within the lease nothing is adopted: not the gone pod's directory, and not on the API's error.
        await adopter.ScanOnceAsync();
        _time.Advance(TimeSpan.FromSeconds(29));
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(gone));
        Assert.Contains(((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), adopter.LivenessFallback, StringComparison.Ordinal);

        // The live pod keeps renewing its record; the gone one's stands still past the lease.
        (OwnerRecord.Read(_fileSystem, live)! with { Heartbeat = 1 }).Write(_fileSystem, live);
        _time.Advance(TimeSpan.FromSeconds(2));
        await adopter.ScanOnceAsync();

        Assert.False(Directory.Exists(gone), "the lease rule adopted the directory whose record stood still");
        Assert.True(Directory.Exists(live));
        Assert.Single(LivenessEvents(events));

        // Once the API answers again the fallback ends.
        _api.Refuse(null);
        await WaitForAsync(() => liveness.Watch!.IsCurrent, "the pods to be listed again");
        await adopter.ScanOnceAsync();
        Assert.Null(adopter.LivenessFallback);
    }

    [Fact]
    public async Task An_API_that_does_not_answer_falls_back_to_the_lease_rule()
    {
        var events = new List<string>();
        using var listener = new EventCollector(events);
        _api.Hang();
        var gone = Sibling("orders-a", "uid-of-a-deleted-pod");
        await using var adopter = Adopter(out _, requestTimeout: TimeSpan.FromMilliseconds(200));

        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(gone));
        Assert.Contains("no answer within", adopter.LivenessFallback, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(31));
        await adopter.ScanOnceAsync();

        Assert.False(Directory.Exists(gone));
        Assert.Single(LivenessEvents(events));
    }

    [Fact]
    public async Task A_record_without_a_pod_uid_is_judged_by_the_lease_rule()
    {
        var directory = Siblings.Directory(_root, "orders-a");
        Directory.CreateDirectory(directory);
        new OwnerRecord { Token = "a", Pod = "orders-a", Lease = TimeSpan.FromSeconds(30) }.Write(_fileSystem, directory);
        await using var adopter = Adopter(out _);

        await adopter.ScanOnceAsync();
        _time.Advance(TimeSpan.FromSeconds(29));
        await adopter.ScanOnceAsync();
        Assert.True(Directory.Exists(directory), "no pod UID: not gone before the lease");

        _time.Advance(TimeSpan.FromSeconds(2));
        await adopter.ScanOnceAsync();
        Assert.False(Directory.Exists(directory));
        Assert.Equal(0, _api.Reads("orders-a"));
    }

    [Fact]
    public async Task A_namespace_where_this_pod_is_not_found_falls_back_instead_of_taking_every_pod_for_gone()
    {
        var orphan = Sibling("orders-a", _api.Add("orders-a"));
        _api.Delete("orders-b");
        await using var adopter = Adopter(out _);

        await adopter.ScanOnceAsync();

        Assert.True(Directory.Exists(orphan));
        Assert.Contains("this pod (orders-b", adopter.LivenessFallback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pipeline_whose_API_refuses_reports_Degraded_health_with_the_reason()
    {
        _api.Refuse(HttpStatusCode.Forbidden);
        Sibling("orders-a", "uid-a");
        var options = Siblings.Options(_root, "orders-b", "http://127.0.0.1:1/", adopt: true)
            .UseKubernetesLiveness(Settings(TimeSpan.FromSeconds(5)));
        await using var pipeline = LogPipeline.Open(options);

        await WaitForAsync(() => pipeline.Adopter!.LivenessFallback is not null, "the adopter to ask the API");
        var health = PipelineHealth.Evaluate(pipeline, new HealthThresholds());

        Assert.Equal(HealthState.Degraded, health.State);
        Assert.Contains("falls back to the lease rule", health.Description, StringComparison.Ordinal);
        Assert.Contains("403", (string)health.Data["adoption_liveness_fallback"], StringComparison.Ordinal);
    }

    private List<string> LivenessEvents(List<string> events)
    {
        var service = Path.GetDirectoryName(Siblings.Directory(_root, "x"))!;
        lock (events)
        {
            return events.Where(e => e.StartsWith(service + " | the Kubernetes API", StringComparison.Ordinal)).ToList();
        }
    }

    /// <summary>A sibling's directory whose owner record names <paramref name="pod"/> and <paramref name="uid"/>.</summary>
    private string Sibling(string pod, string uid)
    {
        var directory = Siblings.Directory(_root, pod);
        Directory.CreateDirectory(directory);
        new OwnerRecord { Token = pod, Pod = pod, PodUid = uid, Node = "node-1", Lease = TimeSpan.FromSeconds(30) }.Write(_fileSystem, directory);
        return directory;
    }

    private KubernetesLivenessOptions Settings(TimeSpan requestTimeout) => new()
    {
        LabelSelector = "app=orders",
        Configuration = () => new k8s.KubernetesClientConfiguration { Host = _api.BaseAddress.ToString() },
        RequestTimeout = requestTimeout,
        RetryDelay = TimeSpan.FromMilliseconds(50),
        Environment = name => name switch
        {
            "POD_NAME" => "orders-b",
            "POD_UID" => _adopterUid,
            "POD_NAMESPACE" => FakeKubernetesApi.Namespace,
            _ => null,
        },
    };

    /// <summary>orders-b, adopting with the liveness started; scans are made by the test, on the manual clock.</summary>
    private OrphanAdopter Adopter(out PodLiveness liveness, TimeSpan? requestTimeout = null)
    {
        liveness = new PodLiveness(Settings(requestTimeout ?? TimeSpan.FromSeconds(5)));
        liveness.Start();
        return new OrphanAdopter(new AdoptionOptions
        {
            OwnDirectory = Siblings.Directory(_root, "orders-b"),
            Shipping = () => throw new InvalidOperationException("shipping is not part of this test"),
            AdoptedBy = "orders-b",
            TimeProvider = _time,
            Liveness = liveness,
        });
    }
}
