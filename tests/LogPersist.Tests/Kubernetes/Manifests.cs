extern alias KubernetesFull;

using KubernetesFull::k8s;
using KubernetesFull::k8s.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LogPersist.Tests.Kubernetes;

/// <summary>A pod template of a manifest, with where it came from and the claim templates it may mount.</summary>
internal sealed record PodTemplate(string Where, V1PodTemplateSpec Template, IReadOnlyList<V1PersistentVolumeClaim> ClaimTemplates)
{
    public V1PodSpec Spec => Template.Spec;

    public IEnumerable<V1Container> AllContainers => (Spec.InitContainers ?? []).Concat(Spec.Containers);

    public override string ToString() => Where;
}

/// <summary>A KubeRay RayCluster: its metadata and pod templates, each loaded strictly; the rest checked against the fields of ray.io/v1.</summary>
internal sealed record RayCluster(V1ObjectMeta Metadata, V1PodTemplateSpec Head, IReadOnlyList<(string GroupName, V1PodTemplateSpec Template)> Workers);

/// <summary>One YAML file of samples/kubernetes: every document, loaded the way the API server would refuse unknown fields.</summary>
internal sealed class Manifest
{
    public Manifest(string name, IReadOnlyList<object> objects, IReadOnlyList<RayCluster> rayClusters, YamlStream yaml)
    {
        Name = name;
        Objects = objects;
        RayClusters = rayClusters;
        Yaml = yaml;
    }

    public string Name { get; }

    /// <summary>The documents the Kubernetes client models (Service, StatefulSet, Job, Secret, …).</summary>
    public IReadOnlyList<object> Objects { get; }

    public IReadOnlyList<RayCluster> RayClusters { get; }

    /// <summary>The documents as parsed YAML, for rules about how values are written.</summary>
    public YamlStream Yaml { get; }

    public IEnumerable<T> OfKind<T>() => Objects.OfType<T>();

    public T Single<T>() => Assert.Single(Objects.OfType<T>());

    public IEnumerable<PodTemplate> PodTemplates
    {
        get
        {
            foreach (var item in Objects)
            {
                switch (item)
                {
                    case V1StatefulSet set:
                        yield return new PodTemplate($"{Name}: StatefulSet {set.Metadata.Name}", set.Spec.Template, set.Spec.VolumeClaimTemplates?.ToList() ?? []);
                        break;
                    case V1Deployment deployment:
                        yield return new PodTemplate($"{Name}: Deployment {deployment.Metadata.Name}", deployment.Spec.Template, []);
                        break;
                    case V1Job job:
                        yield return new PodTemplate($"{Name}: Job {job.Metadata.Name}", job.Spec.Template, []);
                        break;
                    case V1Pod pod:
                        yield return new PodTemplate($"{Name}: Pod {pod.Metadata.Name}", new V1PodTemplateSpec { Metadata = pod.Metadata, Spec = pod.Spec }, []);
                        break;
                    case V1DaemonSet or V1ReplicaSet or V1CronJob:
                        throw new NotSupportedException($"{Name}: a {item.GetType().Name} is not covered by these tests yet.");
                }
            }

            foreach (var cluster in RayClusters)
            {
                yield return new PodTemplate($"{Name}: RayCluster {cluster.Metadata.Name} head", cluster.Head, []);
                foreach (var (group, template) in cluster.Workers)
                {
                    yield return new PodTemplate($"{Name}: RayCluster {cluster.Metadata.Name} worker group {group}", template, []);
                }
            }
        }
    }
}

/// <summary>Finds and strictly loads the manifests in samples/kubernetes.</summary>
internal static class Manifests
{
    public const string WalRoot = "/var/lib/logpersist";

    private static readonly Lazy<string> s_directory = new(FindDirectory);

    // The fields of ray.io/v1 RayCluster (KubeRay's RayClusterSpec, HeadGroupSpec, WorkerGroupSpec).
    // The client does not model this resource, so a misspelling here is caught by these lists.
    private static readonly HashSet<string> s_rayClusterFields = ["apiVersion", "kind", "metadata", "spec"];
    private static readonly HashSet<string> s_raySpecFields = ["headGroupSpec", "workerGroupSpecs", "rayVersion", "enableInTreeAutoscaling", "autoscalerOptions", "headServiceAnnotations", "suspend"];
    private static readonly HashSet<string> s_rayHeadFields = ["serviceType", "headService", "enableIngress", "rayStartParams", "template"];
    private static readonly HashSet<string> s_rayWorkerFields = ["groupName", "replicas", "minReplicas", "maxReplicas", "numOfHosts", "rayStartParams", "template", "scaleStrategy", "suspend", "idleTimeoutSeconds"];

    /// <summary>samples/kubernetes of this checkout, found by walking up from the test binaries to LogPersist.sln.</summary>
    public static string Directory => s_directory.Value;

    public static IEnumerable<string> FileNames =>
        System.IO.Directory.EnumerateFiles(Directory, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static Manifest Load(string fileName) => Parse(fileName, File.ReadAllText(Path.Combine(Directory, fileName)));

    /// <summary>Loads every document of <paramref name="text"/>; an unknown field anywhere fails with the file, document and field.</summary>
    public static Manifest Parse(string name, string text)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(text));
        var objects = new List<object>();
        var rayClusters = new List<RayCluster>();
        for (var i = 0; i < yaml.Documents.Count; i++)
        {
            var root = yaml.Documents[i].RootNode as YamlMappingNode
                ?? throw new InvalidDataException($"{name}, document {i + 1}: not a mapping.");
            var apiVersion = Scalar(root, "apiVersion");
            var kind = Scalar(root, "kind");
            try
            {
                if (apiVersion == "ray.io/v1" && kind == "RayCluster")
                {
                    rayClusters.Add(LoadRayCluster(root));
                }
                else
                {
                    objects.Add(Assert.Single(KubernetesYaml.LoadAllFromString(Emit(root), strict: true)));
                }
            }
            catch (Exception e) when (e is YamlException or KeyNotFoundException)
            {
                throw new InvalidDataException($"{name}, document {i + 1} ({apiVersion} {kind}): {e.Message}", e);
            }
        }

        return new Manifest(name, objects, rayClusters, yaml);
    }

    private static RayCluster LoadRayCluster(YamlMappingNode root)
    {
        CheckFields(root, s_rayClusterFields, "RayCluster");
        var metadata = Strict<V1ObjectMeta>(Child(root, "metadata"));
        var spec = (YamlMappingNode)Child(root, "spec");
        CheckFields(spec, s_raySpecFields, "spec");
        var head = (YamlMappingNode)Child(spec, "headGroupSpec");
        CheckFields(head, s_rayHeadFields, "spec.headGroupSpec");
        CheckStartParams(head, "spec.headGroupSpec");
        var workers = new List<(string, V1PodTemplateSpec)>();
        if (spec.Children.TryGetValue(new YamlScalarNode("workerGroupSpecs"), out var groups))
        {
            foreach (var group in ((YamlSequenceNode)groups).Cast<YamlMappingNode>())
            {
                var groupName = Scalar(group, "groupName");
                CheckFields(group, s_rayWorkerFields, $"spec.workerGroupSpecs[{groupName}]");
                CheckStartParams(group, $"spec.workerGroupSpecs[{groupName}]");
                workers.Add((groupName, Strict<V1PodTemplateSpec>(Child(group, "template"))));
            }
        }

        return new RayCluster(metadata, Strict<V1PodTemplateSpec>(Child(head, "template")), workers);
    }

    /// <summary>A subtree of a document, written back as YAML and loaded as <typeparamref name="T"/> in strict mode.</summary>
    private static T Strict<T>(YamlNode node) => KubernetesYaml.Deserialize<T>(Emit(node), strict: true);

    private static void CheckFields(YamlMappingNode node, HashSet<string> known, string where)
    {
        foreach (var key in node.Children.Keys)
        {
            var field = ((YamlScalarNode)key).Value!;
            if (!known.Contains(field))
            {
                throw new YamlException(key.Start, key.End, $"Property '{field}' not found in {where} of ray.io/v1 RayCluster.");
            }
        }
    }

    // rayStartParams is a map of strings: KubeRay refuses numbers and booleans there.
    private static void CheckStartParams(YamlMappingNode group, string where)
    {
        if (!group.Children.TryGetValue(new YamlScalarNode("rayStartParams"), out var parameters))
        {
            throw new YamlException(group.Start, group.End, $"{where}.rayStartParams is required by ray.io/v1.");
        }

        foreach (var (key, value) in (YamlMappingNode)parameters)
        {
            if (value is not YamlScalarNode)
            {
                throw new YamlException(value.Start, value.End, $"{where}.rayStartParams.{key} must be a string.");
            }
        }
    }

    private static YamlNode Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? child
            : throw new YamlException(node.Start, node.End, $"'{key}' is missing.");

    private static string Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlScalarNode { Value: { } value }
            ? value
            : "";

    private static string Emit(YamlNode node)
    {
        using var writer = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static string FindDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LogPersist.sln")))
            {
                return Path.Combine(directory.FullName, "samples", "kubernetes");
            }
        }

        throw new InvalidOperationException($"No LogPersist.sln above {AppContext.BaseDirectory}.");
    }
}
