using LogPersist.Cli.Run;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Cli.Run;

public sealed class PodLabelsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_downward_api_file_is_read_with_go_quoting_undone()
    {
        var labels = PodLabels.Parse(
            "app.kubernetes.io/name=\"ray\"\n" +
            "quoted=\"say \\\"hi\\\" \\\\ twice\"\n" +
            "escapes=\"tab\\there\\nnext\"\n" +
            "utf8=\"caf\\xc3\\xa9 \\u00e9 \\U0001F600\"\n" +
            "empty=\"\"\r\n" +
            "not-quoted=value\n" +
            "bad-escape=\"\\q\"\n" +
            "\n");

        Assert.Equal("ray", labels["app.kubernetes.io/name"]);
        Assert.Equal("say \"hi\" \\ twice", labels["quoted"]);
        Assert.Equal("tab\there\nnext", labels["escapes"]);
        Assert.Equal("café é 😀", labels["utf8"]);
        Assert.Equal("", labels["empty"]);
        Assert.False(labels.ContainsKey("not-quoted"));
        Assert.False(labels.ContainsKey("bad-escape"));
        Assert.Equal(5, labels.Count);
    }

    [Fact]
    public void Only_the_labels_asked_for_are_taken_under_sanitised_names_and_a_missing_one_is_said()
    {
        var path = _temp.Combine("labels");
        File.WriteAllText(path, "ray.io/cluster=\"demo\"\nray.io/node-type=\"head\"\npod-template-hash=\"7f9c4d\"\n");
        var error = new StringWriter();

        var labels = PodLabels.Read(path, ["ray.io/node-type", "ray.io/cluster", "ray.io/group"], error);

        Assert.Equal(new Dictionary<string, string> { ["ray_io_node_type"] = "head", ["ray_io_cluster"] = "demo" }, labels);
        Assert.Contains("no label 'ray.io/group'", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_file_no_label_is_added_and_the_mount_is_named()
    {
        var error = new StringWriter();

        var labels = PodLabels.Read(_temp.Combine("absent"), ["ray.io/cluster"], error);

        Assert.Empty(labels);
        Assert.Contains("metadata.labels", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_no_label_reads_nothing_and_says_nothing()
    {
        var error = new StringWriter();

        Assert.Empty(PodLabels.Read(_temp.Combine("absent"), [], error));
        Assert.Equal("", error.ToString());
    }
}
