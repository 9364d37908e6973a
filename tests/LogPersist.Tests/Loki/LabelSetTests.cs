using LogPersist.Loki;

namespace LogPersist.Tests.Loki;

public class LabelSetTests
{
    [Fact]
    public void Labels_are_sorted_sanitised_and_values_escaped()
    {
        var labels = LabelSet.Create([
            new("service-name", "api"),
            new("9lives", "x"),
            new("app", "say \"hi\"\\ \nnow"),
        ]);

        Assert.Equal("{_9lives=\"x\", app=\"say \\\"hi\\\"\\\\ \\nnow\", service_name=\"api\"}", labels.Text);
    }

    [Fact]
    public void Empty_value_removes_a_label_and_later_values_override()
    {
        var labels = LabelSet.Create([new("a", "1"), new("b", "2"), new("a", "3"), new("b", "")]);
        Assert.Equal("{a=\"3\"}", labels.Text);
    }

    [Fact]
    public void Long_values_are_cut_to_lokis_limit_without_splitting_characters()
    {
        var labels = LabelSet.Create([new("a", new string('é', 3000))]);
        var value = labels.Labels[0].Value;
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(value) <= LabelSet.MaxValueBytes);
        Assert.Equal(LabelSet.MaxValueBytes / 2, value.Length);
    }

    [Fact]
    public void Environment_labels_come_from_pod_variables_then_otel_resource_attributes()
    {
        var env = new Dictionary<string, string>
        {
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.name=from%20otel,k8s.namespace.name=ns1,k8s.container.name=main,bad",
            ["POD_NAME"] = "api-7f9c",
            ["HOSTNAME"] = "ignored-host",
        };

        var labels = LabelSet.Create(EnvironmentLabels.Detect(k => env.GetValueOrDefault(k)));

        Assert.Equal("{container=\"main\", namespace=\"ns1\", pod=\"api-7f9c\", service_name=\"from otel\"}", labels.Text);
    }

    [Fact]
    public void Otel_service_name_wins_and_hostname_is_the_instance_without_pod_name()
    {
        var env = new Dictionary<string, string> { ["OTEL_SERVICE_NAME"] = "svc", ["HOSTNAME"] = "worker-3", ["POD_NAMESPACE"] = "ray" };

        var labels = LabelSet.Create(EnvironmentLabels.Detect(k => env.GetValueOrDefault(k)));

        Assert.Equal("{namespace=\"ray\", pod=\"worker-3\", service_name=\"svc\"}", labels.Text);
    }
}
