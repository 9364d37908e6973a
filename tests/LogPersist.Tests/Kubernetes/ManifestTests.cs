extern alias KubernetesFull;

using System.Text.RegularExpressions;
using KubernetesFull::k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LogPersist.Tests.Kubernetes;

/// <summary>
/// The manifests in samples/kubernetes are what users copy; these tests hold them to the rules that
/// keep logs safe: strict schema, identity from the downward API, a restricted security context, a
/// grace period longer than the flush, credentials from a Secret, and the right volume for each shape.
/// </summary>
public sealed partial class ManifestTests
{
    private const string SecretFile = "loki-secret.example.yaml";
    private const string SecretName = "loki-credentials";

    private static readonly (string Name, string FieldPath)[] s_downwardApi =
    [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
        ("NODE_NAME", "spec.nodeName"),
        ("POD_UID", "metadata.uid"),
    ];

    // Variables that carry where to ship or credentials, for the tool and for the app.
    private static readonly Regex s_lokiSetting = LokiSettingPattern();

    private static readonly string[] s_workloads = ["statefulset.yaml", "deployment-shared-volume.yaml", "raycluster.yaml", "drain-job.yaml"];

    public static TheoryData<string> Workloads => new(s_workloads);

    public static TheoryData<string> AllFiles => new([.. s_workloads, SecretFile]);

    [Fact]
    public void The_folder_holds_exactly_the_documented_manifests()
    {
        Assert.Equal(s_workloads.Append(SecretFile).Order(StringComparer.Ordinal), Manifests.FileNames);
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Manifest_loads_in_strict_mode(string file)
    {
        var manifest = Manifests.Load(file);

        Assert.NotEmpty(manifest.Objects.Concat<object>(manifest.RayClusters));
    }

    [Theory]
    [InlineData(MisspelledPod, "fsGroupChangePolicy", "fsGroupChangePolicyy")]
    [InlineData(MisspelledRayTemplate, "terminationGracePeriodSeconds", "terminationGracePeriodSecond")]
    [InlineData(MisspelledRayGroup, "workerGroupSpecs", "workerGroupSpec")]
    public void Strict_loading_rejects_a_misspelled_field(string template, string field, string misspelled)
    {
        var valid = Manifests.Parse("valid.yaml", template.Replace("FIELD", field, StringComparison.Ordinal));
        Assert.NotEmpty(valid.PodTemplates);

        var error = Assert.Throws<InvalidDataException>(() => Manifests.Parse("broken.yaml", template.Replace("FIELD", misspelled, StringComparison.Ordinal)));

        Assert.Contains(misspelled, error.Message, StringComparison.Ordinal);
        Assert.Contains("broken.yaml", error.Message, StringComparison.Ordinal);
        Assert.IsType<YamlException>(error.InnerException, exactMatch: false);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Every_container_gets_the_pods_identity_from_the_downward_api(string file)
    {
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            foreach (var (name, fieldPath) in s_downwardApi)
            {
                var variable = container.Env?.FirstOrDefault(e => e.Name == name);
                if (variable?.ValueFrom?.FieldRef?.FieldPath != fieldPath || variable.Value is not null)
                {
                    problems.Add($"{pod} / {container.Name}: {name} is not taken from fieldRef {fieldPath}");
                }
            }
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Every_pod_runs_as_non_root_with_a_restricted_security_context(string file)
    {
        var problems = new List<string>();
        foreach (var pod in PodTemplates(file))
        {
            var security = pod.Spec.SecurityContext;
            Check(problems, security?.RunAsNonRoot == true, $"{pod}: runAsNonRoot is not true");
            Check(problems, security?.RunAsUser > 0, $"{pod}: runAsUser is not a non-zero uid");
            Check(problems, security?.RunAsGroup > 0, $"{pod}: runAsGroup is not a non-zero gid");
            Check(problems, security?.FsGroup > 0, $"{pod}: fsGroup is not set to a non-zero gid");
            Check(problems, security?.FsGroupChangePolicy == "OnRootMismatch", $"{pod}: fsGroupChangePolicy is not OnRootMismatch");
            Check(problems, security?.SeccompProfile?.Type == "RuntimeDefault", $"{pod}: seccompProfile is not RuntimeDefault");
            foreach (var container in pod.AllContainers)
            {
                var own = container.SecurityContext;
                var where = $"{pod} / {container.Name}";
                Check(problems, own?.AllowPrivilegeEscalation == false, $"{where}: allowPrivilegeEscalation is not false");
                Check(problems, own?.ReadOnlyRootFilesystem == true, $"{where}: readOnlyRootFilesystem is not true");
                Check(problems, own?.Capabilities?.Drop?.Contains("ALL") == true, $"{where}: capabilities do not drop ALL");
                Check(problems, own?.RunAsUser is null or > 0 && own?.RunAsNonRoot is null or true && own?.Privileged is null or false, $"{where}: overrides the pod's non-root user");
            }
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Every_container_has_a_writable_tmp_on_a_read_only_root(string file)
    {
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            var tmp = container.VolumeMounts?.FirstOrDefault(m => m.MountPath == "/tmp");
            var volume = pod.Spec.Volumes?.FirstOrDefault(v => v.Name == tmp?.Name);
            Check(problems, volume?.EmptyDir is not null && tmp!.ReadOnlyProperty != true, $"{pod} / {container.Name}: /tmp is not a writable emptyDir");
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Grace_period_outlasts_the_shutdown_wait_and_the_flush_deadline(string file)
    {
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            // Kubernetes' default grace period is 30 s.
            var grace = TimeSpan.FromSeconds(pod.Spec.TerminationGracePeriodSeconds ?? 30);
            var settings = ContainerSettings.Of(container);
            var needed = settings.ShutdownWait + settings.FlushTimeout;
            Check(problems, grace > needed, $"{pod} / {container.Name}: grace {grace.TotalSeconds} s is not longer than shutdown {settings.ShutdownWait.TotalSeconds} s + flush {settings.FlushTimeout.TotalSeconds} s");
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Loki_url_and_credentials_come_from_the_example_secret(string file)
    {
        var secret = Manifests.Load(SecretFile).Single<V1Secret>();
        Assert.Equal(SecretName, secret.Metadata.Name);
        Assert.Null(secret.Data);
        var keys = secret.StringData.Keys.ToHashSet();
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            Check(problems, container.Env?.Any(e => e.Name == "LOKI_URL") == true, $"{pod} / {container.Name}: no LOKI_URL");
            foreach (var variable in container.Env?.Where(e => s_lokiSetting.IsMatch(e.Name)) ?? [])
            {
                var reference = variable.ValueFrom?.SecretKeyRef;
                Check(
                    problems,
                    variable.Value is null && reference?.Name == SecretName && keys.Contains(reference.Key),
                    $"{pod} / {container.Name}: {variable.Name} is not read from a key of Secret {SecretName}");
            }
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Every_volume_mount_names_a_volume_or_a_claim_template(string file)
    {
        var problems = new List<string>();
        foreach (var pod in PodTemplates(file))
        {
            var names = (pod.Spec.Volumes ?? []).Select(v => v.Name).Concat(pod.ClaimTemplates.Select(c => c.Metadata.Name)).ToHashSet();
            foreach (var container in pod.AllContainers)
            {
                foreach (var mount in container.VolumeMounts ?? [])
                {
                    Check(problems, names.Contains(mount.Name), $"{pod} / {container.Name}: mount {mount.Name} at {mount.MountPath} names no volume");
                }
            }
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void The_wal_root_of_every_container_is_a_persistent_volume(string file)
    {
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            var settings = ContainerSettings.Of(container);
            var root = settings.Tool?.Verb == "drain" ? settings.Tool.Value<string>("--all") : settings.WalRoot;
            var mount = container.VolumeMounts?.FirstOrDefault(m => m.MountPath == root);
            var persistent = mount is not null && mount.ReadOnlyProperty != true
                && (pod.ClaimTemplates.Any(c => c.Metadata.Name == mount.Name)
                    || pod.Spec.Volumes?.Any(v => v.Name == mount.Name && v.PersistentVolumeClaim is not null) == true);
            Check(problems, persistent, $"{pod} / {container.Name}: WAL root '{root}' is not a writable mount of a persistent volume");
        }

        AssertNone(problems);
    }

    [Fact]
    public void Statefulset_gives_each_pod_its_own_read_write_once_claim_and_keeps_it()
    {
        var manifest = Manifests.Load("statefulset.yaml");
        var set = manifest.Single<V1StatefulSet>();
        var pod = Assert.Single(manifest.PodTemplates);

        Assert.Equal("Retain", set.Spec.PersistentVolumeClaimRetentionPolicy?.WhenDeleted);
        Assert.Equal("Retain", set.Spec.PersistentVolumeClaimRetentionPolicy?.WhenScaled);
        var claim = Assert.Single(set.Spec.VolumeClaimTemplates);
        Assert.Equal(["ReadWriteOnce"], claim.Spec.AccessModes);
        Assert.DoesNotContain(pod.Spec.Volumes ?? [], v => v.PersistentVolumeClaim is not null);
        Assert.All(pod.Spec.Containers, c => Assert.Contains(c.VolumeMounts, m => m.Name == claim.Metadata.Name && m.MountPath == Manifests.WalRoot));

        // The governing Service is headless and selects the StatefulSet's pods.
        var service = Assert.Single(manifest.OfKind<V1Service>(), s => s.Metadata.Name == set.Spec.ServiceName);
        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.All(service.Spec.Selector, label => Assert.Equal(label.Value, pod.Template.Metadata.Labels[label.Key]));
    }

    [Theory]
    [InlineData("deployment-shared-volume.yaml")]
    [InlineData("raycluster.yaml")]
    public void Shared_volume_shapes_mount_one_read_write_many_claim_and_sync_on_an_interval(string file)
    {
        var manifest = Manifests.Load(file);
        var claims = manifest.OfKind<V1PersistentVolumeClaim>().ToDictionary(c => c.Metadata.Name);
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            var settings = ContainerSettings.Of(container);
            var mount = container.VolumeMounts?.FirstOrDefault(m => m.MountPath == settings.WalRoot);
            var claimName = pod.Spec.Volumes?.FirstOrDefault(v => v.Name == mount?.Name)?.PersistentVolumeClaim?.ClaimName;
            Check(
                problems,
                claimName is not null && claims.TryGetValue(claimName, out var claim) && claim.Spec.AccessModes.SequenceEqual(["ReadWriteMany"]),
                $"{pod} / {container.Name}: the WAL root is not a ReadWriteMany claim of this manifest");
            Check(problems, settings.Durability == WalDurability.Interval, $"{pod} / {container.Name}: durability is {settings.Durability}, not Interval");
        }

        Assert.Single(claims);
        AssertNone(problems);
    }

    [Theory]
    [InlineData("statefulset.yaml", false)]
    [InlineData("deployment-shared-volume.yaml", true)]
    [InlineData("raycluster.yaml", true)]
    public void Adoption_is_on_exactly_where_pods_come_back_with_new_names(string file, bool adopt)
    {
        var containers = Containers(file).ToList();

        Assert.All(containers, pair => Assert.Equal(adopt, ContainerSettings.Of(pair.Container).AdoptOrphans));
    }

    [Theory]
    [InlineData("statefulset.yaml", false)]
    [InlineData("deployment-shared-volume.yaml", true)]
    [InlineData("raycluster.yaml", true)]
    [InlineData("drain-job.yaml", false)]
    public void Kubernetes_liveness_is_on_where_adoption_is_and_watches_the_pods_that_share_the_volume(string file, bool on)
    {
        var manifest = Manifests.Load(file);
        foreach (var pod in manifest.PodTemplates)
        {
            foreach (var container in pod.Spec.Containers)
            {
                var settings = ContainerSettings.Of(container);
                Assert.Equal(on, settings.KubernetesLiveness);
                if (!on)
                {
                    continue;
                }

                // The selector names labels every pod of this shape carries: KubeRay's cluster label, or the template's own.
                var selector = Assert.IsType<string>(settings.KubernetesLabelSelector);
                var labels = manifest.RayClusters.SingleOrDefault() is { } cluster
                    ? new Dictionary<string, string> { ["ray.io/cluster"] = cluster.Metadata.Name }
                    : pod.Template.Metadata.Labels;
                Assert.All(selector.Split(','), term => Assert.Equal(term.Split('=')[1], labels[term.Split('=')[0]]));
            }
        }
    }

    [Theory]
    [InlineData("deployment-shared-volume.yaml")]
    [InlineData("raycluster.yaml")]
    public void Pods_that_ask_the_API_server_use_an_account_that_may_only_get_list_and_watch_pods(string file)
    {
        var manifest = Manifests.Load(file);
        var account = manifest.Single<V1ServiceAccount>();
        var role = manifest.Single<V1Role>();
        var binding = manifest.Single<V1RoleBinding>();

        // The Role grants exactly get, list and watch on pods of its namespace: no other resource, verb or name.
        var rule = Assert.Single(role.Rules);
        Assert.Equal([""], rule.ApiGroups);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["get", "list", "watch"], rule.Verbs.Order(StringComparer.Ordinal));
        Assert.True(rule.ResourceNames is null or { Count: 0 });
        Assert.True(rule.NonResourceURLs is null or { Count: 0 });

        // The binding gives that Role, and only it, to the pods' service account.
        Assert.Equal(("rbac.authorization.k8s.io", "Role", role.Metadata.Name), (binding.RoleRef.ApiGroup, binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name), (subject.Kind, subject.Name));

        // The token is mounted only into the pods that ask the API server, and every one of them uses the account.
        Assert.False(account.AutomountServiceAccountToken);
        Assert.All(manifest.PodTemplates, pod =>
        {
            Assert.Equal(account.Metadata.Name, pod.Spec.ServiceAccountName);
            Assert.True(pod.Spec.AutomountServiceAccountToken);
        });
    }

    [Theory]
    [InlineData("statefulset.yaml")]
    [InlineData("drain-job.yaml")]
    public void Pods_that_do_not_ask_the_API_server_get_no_role(string file)
    {
        var manifest = Manifests.Load(file);

        Assert.Empty(manifest.OfKind<V1Role>());
        Assert.Empty(manifest.OfKind<V1RoleBinding>());
        Assert.All(manifest.PodTemplates, pod => Assert.True(pod.Spec.AutomountServiceAccountToken is null or false));
    }

    [Fact]
    public void Ray_nodes_run_ray_start_under_logpersist_run_following_rays_log_files_with_the_pods_labels()
    {
        var manifest = Manifests.Load("raycluster.yaml");
        var cluster = Assert.Single(manifest.RayClusters);
        Assert.Equal("true", cluster.Metadata.Annotations?["ray.io/overwrite-container-cmd"]);
        Assert.NotEmpty(cluster.Workers);

        foreach (var pod in manifest.PodTemplates)
        {
            var head = ReferenceEquals(pod.Template, cluster.Head);
            var container = Assert.Single(pod.Spec.Containers);
            var tool = ContainerSettings.Of(container).Tool;
            Assert.NotNull(tool);
            Assert.Equal("run", tool.Verb);
            Assert.Equal(head ? "ray-head" : "ray-worker", tool.Value<string>("--service"));
            Assert.Equal(["ray", "start"], tool.Child.Take(2));
            Assert.Contains("--block", tool.Child);
            Assert.Contains(tool.Child, a => head ? a == "--head" : a.StartsWith("--address=", StringComparison.Ordinal));

            // Ray's log files are followed where Ray writes them, not redirected to stderr.
            Assert.Null(ContainerSettings.EnvValue(container, "RAY_LOG_TO_STDERR"));
            Assert.Equal(["/tmp/ray/session_latest/logs/*"], tool.Value<string[]>("--files") ?? []);
            var tmp = Assert.Single(container.VolumeMounts, m => m.MountPath == "/tmp");
            Assert.NotNull(Assert.Single(pod.Spec.Volumes, v => v.Name == tmp.Name).EmptyDir?.SizeLimit);

            // KubeRay's pod labels, from a downward-API file where --pod-label reads them by default.
            Assert.Equal(["ray.io/cluster", "ray.io/node-type", "ray.io/group"], tool.Value<string[]>("--pod-label") ?? []);
            Assert.Null(tool.Value<string>("--pod-labels-file"));
            var podinfo = Assert.Single(container.VolumeMounts, m => m.MountPath == Path.GetDirectoryName(LogPersist.Cli.Run.PodLabels.DefaultPath));
            var labels = Assert.Single(Assert.Single(pod.Spec.Volumes, v => v.Name == podinfo.Name).DownwardAPI.Items);
            Assert.Equal((Path.GetFileName(LogPersist.Cli.Run.PodLabels.DefaultPath), "metadata.labels"), (labels.Path, labels.FieldRef.FieldPath));

            // The tool runs from an emptyDir that an init container fills.
            var binary = container.Command[0];
            var mount = Assert.Single(container.VolumeMounts, m => m.MountPath == Path.GetDirectoryName(binary));
            Assert.NotNull(Assert.Single(pod.Spec.Volumes, v => v.Name == mount.Name).EmptyDir);
            Assert.Contains(pod.Spec.InitContainers ?? [], init =>
                init.VolumeMounts.Any(m => m.Name == mount.Name && m.MountPath == mount.MountPath && m.ReadOnlyProperty != true)
                && (init.Command ?? []).Concat(init.Args ?? []).Contains(binary));
        }
    }

    [Fact]
    public void Drain_job_drains_every_wal_under_the_mounted_root_within_its_deadline()
    {
        var manifest = Manifests.Load("drain-job.yaml");
        var job = manifest.Single<V1Job>();
        var container = Assert.Single(job.Spec.Template.Spec.Containers);
        var tool = ContainerSettings.Of(container).Tool;

        Assert.NotNull(tool);
        Assert.Equal(["drain", "--all", Manifests.WalRoot], tool.Arguments.Take(3));
        Assert.Contains(container.VolumeMounts, m => m.MountPath == Manifests.WalRoot);
        Assert.InRange(job.Spec.BackoffLimit ?? -1, 1, 10);
        Assert.NotNull(job.Spec.TtlSecondsAfterFinished);
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);

        // Each attempt stops itself (--timeout), and every attempt the backoff limit allows fits in
        // the Job's deadline, so the deadline never kills a drain that was still making progress.
        var timeout = tool.Value<TimeSpan?>("--timeout");
        Assert.NotNull(timeout);
        var attempts = job.Spec.BackoffLimit!.Value + 1;
        Assert.True(
            TimeSpan.FromSeconds(job.Spec.ActiveDeadlineSeconds ?? 0) > timeout.Value * attempts,
            $"activeDeadlineSeconds is not longer than {attempts} attempts of --timeout {timeout}");
    }

    [Fact]
    public void Drain_job_runs_as_the_uid_that_wrote_the_volume_it_drains()
    {
        var job = Manifests.Load("drain-job.yaml").Single<V1Job>();
        var writers = Manifests.Load("deployment-shared-volume.yaml");
        var claim = Assert.Single(job.Spec.Template.Spec.Volumes, v => v.PersistentVolumeClaim is not null).PersistentVolumeClaim.ClaimName;
        Assert.Contains(writers.OfKind<V1PersistentVolumeClaim>(), c => c.Metadata.Name == claim);
        var writer = writers.Single<V1Deployment>().Spec.Template.Spec.SecurityContext;

        Assert.Equal(writer.RunAsUser, job.Spec.Template.Spec.SecurityContext.RunAsUser);
        Assert.Equal(writer.RunAsGroup, job.Spec.Template.Spec.SecurityContext.RunAsGroup);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Logpersist_command_lines_parse_with_the_tools_own_parser(string file)
    {
        var problems = new List<string>();
        foreach (var (pod, container) in Containers(file))
        {
            if (ContainerSettings.Of(container).Tool is { } tool)
            {
                problems.AddRange(tool.Parsed.Errors.Select(e => $"{pod} / {container.Name}: {e.Message}"));
            }
        }

        AssertNone(problems);
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void String_values_that_yaml_would_read_as_another_type_are_quoted(string file)
    {
        // The API server reads env values, labels, annotations, Secret data and rayStartParams as
        // strings and refuses `value: true` or `port: 6379` there.
        var problems = new List<string>();
        foreach (var document in Manifests.Load(file).Yaml.Documents)
        {
            FindUnquoted(document.RootNode, parentKey: null, problems);
        }

        AssertNone(problems);
    }

    [GeneratedRegex("^(LOKI_(URL|TENANT|USERNAME|PASSWORD)|.*__(LokiUrl|Tenant|Username|Password|BearerToken))$", RegexOptions.IgnoreCase)]
    private static partial Regex LokiSettingPattern();

    private static void FindUnquoted(YamlNode node, string? parentKey, List<string> problems)
    {
        string[] stringMaps = ["labels", "annotations", "matchLabels", "selector", "nodeSelector", "stringData", "data", "rayStartParams"];
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping)
                {
                    var name = ((YamlScalarNode)key).Value;
                    var mustBeString = (parentKey is not null && stringMaps.Contains(parentKey) && value is YamlScalarNode)
                        || (parentKey == "env" && name == "value");
                    if (mustBeString && value is YamlScalarNode { Style: ScalarStyle.Plain } plain && !IsPlainString(plain.Value))
                    {
                        problems.Add($"line {plain.Start.Line}: {name}: {plain.Value} is not read as a string; quote it");
                    }

                    FindUnquoted(value, name, problems);
                }

                break;
            case YamlSequenceNode sequence:
                foreach (var item in sequence)
                {
                    // Items of a list belong to the key that holds the list (env: - name: …).
                    FindUnquoted(item, parentKey, problems);
                }

                break;
        }
    }

    // YAML 1.1 (the API server's parser) and 1.2 read these plain scalars as booleans, nulls or numbers.
    private static bool IsPlainString(string? value) =>
        !string.IsNullOrEmpty(value) && !NonStringScalar().IsMatch(value);

    [GeneratedRegex(@"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex NonStringScalar();

    private static List<PodTemplate> PodTemplates(string file)
    {
        var templates = Manifests.Load(file).PodTemplates.ToList();
        Assert.NotEmpty(templates);
        return templates;
    }

    /// <summary>The main containers of every pod template (init containers only prepare the pod).</summary>
    private static IEnumerable<(PodTemplate Pod, V1Container Container)> Containers(string file) =>
        PodTemplates(file).SelectMany(pod => pod.Spec.Containers.Select(c => (pod, c)));

    private static void AssertNone(List<string> problems) =>
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));

    private static void Check(List<string> problems, bool condition, string problem)
    {
        if (!condition)
        {
            problems.Add(problem);
        }
    }

    private const string MisspelledPod = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: broken
        spec:
          securityContext:
            FIELD: OnRootMismatch
          containers:
            - name: app
              image: example
        """;

    private const string MisspelledRayTemplate = """
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata:
          name: broken
        spec:
          headGroupSpec:
            rayStartParams: {}
            template:
              spec:
                FIELD: 60
                containers:
                  - name: ray-head
                    image: rayproject/ray
        """;

    private const string MisspelledRayGroup = """
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata:
          name: broken
        spec:
          headGroupSpec:
            rayStartParams: {}
            template:
              spec:
                containers:
                  - name: ray-head
                    image: rayproject/ray
          FIELD:
            - groupName: workers
              rayStartParams: {}
              template:
                spec:
                  containers:
                    - name: ray-worker
                      image: rayproject/ray
        """;
}
