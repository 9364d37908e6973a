using LogPersist.Entries;
using LogPersist.Shipping;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;

namespace LogPersist.Tests.Pipeline;

public sealed class PipelineSettingsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_instance_directory_is_namespace_service_and_instance_under_the_root()
    {
        var settings = PipelineSettings.Resolve(Options(env: new() { ["POD_NAMESPACE"] = "shop", ["POD_NAME"] = "api-7f9c", ["OTEL_SERVICE_NAME"] = "api" }));

        Assert.Equal(Path.Combine(_dir.Path, "shop", "api", "api-7f9c"), settings.Wal.Directory);
        Assert.Equal("configured", settings.RootSource);
    }

    [Theory]
    [InlineData("..", "_..")]
    [InlineData("a/../../etc", "a_.._.._etc")]
    [InlineData("", "_")]
    [InlineData("ok-name_1.2", "ok-name_1.2")]
    public void Names_from_the_environment_cannot_leave_the_root(string name, string segment) =>
        Assert.Equal(segment, PipelineSettings.PathSegment(name));

    [Fact]
    public void Loki_url_and_tenant_default_to_the_environment()
    {
        var settings = PipelineSettings.Resolve(Options(env: new() { ["LOKI_URL"] = "http://loki:3100", ["LOKI_TENANT"] = "team-a" }));

        Assert.Equal(new Uri("http://loki:3100/loki/api/v1/push"), settings.Shipper!.Loki.PushUri);
        Assert.Equal("team-a", settings.Shipper.Loki.Tenant);
    }

    [Fact]
    public void An_empty_Loki_url_keeps_entries_in_the_WAL_even_when_LOKI_URL_is_set()
    {
        var options = Options(env: new() { ["LOKI_URL"] = "http://loki:3100" });
        options.LokiUrl = "";

        Assert.Null(PipelineSettings.Resolve(options).Shipper);
    }

    [Fact]
    public void Options_become_stream_labels_with_service_and_instance_fixed_by_the_options()
    {
        var options = Options(env: new() { ["POD_NAME"] = "from-env", ["OTEL_SERVICE_NAME"] = "from-env" });
        options.LokiUrl = "http://loki:3100";
        options.ServiceName = "billing";
        options.Instance = "billing-0";
        options.Labels = new() { ["env"] = "prod", ["container"] = "" };

        var settings = PipelineSettings.Resolve(options);
        var labels = StreamResolver.StaticLabels(settings.Shipper!).Labels.ToDictionary();

        Assert.Equal("billing", labels["service_name"]);
        Assert.Equal("billing-0", labels["pod"]);
        Assert.Equal("prod", labels["env"]);
        Assert.False(labels.ContainsKey("container"), "an empty value removes a detected label");
        Assert.Equal(settings.Stream.Labels.Text, StreamResolver.StaticLabels(settings.Shipper!).Text);
    }

    [Fact]
    public void A_bad_url_is_reported_without_its_password_together_with_other_problems()
    {
        var options = Options();
        options.LokiUrl = "http//loki:pa55word@nowhere";
        options.SegmentBytes = 100;

        var error = Assert.Throws<ArgumentException>(() => PipelineSettings.Resolve(options));

        Assert.Contains("SegmentBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("LokiUrl", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55word", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_stream_description_is_saved_in_the_WAL_directory_and_reads_back_as_written()
    {
        var options = Options(env: new() { ["POD_NAMESPACE"] = "shop", ["POD_NAME"] = "api-7f9c", ["OTEL_SERVICE_NAME"] = "api" });
        options.Labels = new() { ["env"] = "prod" };
        options.LevelLabel = true;
        options.LabelProperties = ["Tenant"];
        options.LineFormat = LineFormat.Logfmt;

        string directory;
        using (var pipeline = LogPipeline.Open(options))
        {
            directory = pipeline.Directory;
        }

        Assert.True(StreamDescription.TryLoad(new System.IO.Abstractions.FileSystem(), directory, out var stream, out var error), error);
        Assert.Equal("{env=\"prod\", namespace=\"shop\", pod=\"api-7f9c\", service_name=\"api\"}", stream.Labels.Text);
        Assert.True(stream.LevelLabel);
        Assert.Equal(["Tenant"], stream.LabelProperties);
        Assert.Equal(LineFormat.Logfmt, stream.LineFormat);
    }

    [Fact]
    public void A_stream_description_that_cannot_be_read_is_reported_not_guessed()
    {
        using var pipeline = LogPipeline.Open(Options());
        File.WriteAllText(Path.Combine(pipeline.Directory, StreamDescription.FileName), "{\"version\": 1, \"labels\": ");

        Assert.False(StreamDescription.TryLoad(new System.IO.Abstractions.FileSystem(), pipeline.Directory, out _, out var error));
        Assert.Contains("unreadable", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_beyond_the_limit_are_left_out_properties_first_then_level_then_configured_labels()
    {
        var options = Options(env: new() { ["POD_NAME"] = "api-0", ["OTEL_SERVICE_NAME"] = "api", ["POD_NAMESPACE"] = "shop" });
        options.Labels = new() { ["team"] = "payments", ["env"] = "prod", ["region"] = "eu" };
        options.LevelLabel = true;
        options.LabelProperties = ["Tenant", "Shard"];
        options.MaxLabelNames = 7;

        var settings = PipelineSettings.Resolve(options);

        // service_name, pod, namespace + team, env, region = 6 static labels; level makes 7; no room for properties.
        Assert.Equal("{env=\"prod\", namespace=\"shop\", pod=\"api-0\", region=\"eu\", service_name=\"api\", team=\"payments\"}", settings.Stream.Labels.Text);
        Assert.True(settings.Stream.LevelLabel);
        Assert.Empty(settings.Stream.LabelProperties);
        Assert.Equal(["Tenant", "Shard"], settings.DroppedLabels);

        options.MaxLabelNames = 4;
        settings = PipelineSettings.Resolve(options);
        Assert.Equal("{namespace=\"shop\", pod=\"api-0\", service_name=\"api\", team=\"payments\"}", settings.Stream.Labels.Text);
        Assert.False(settings.Stream.LevelLabel);
        Assert.Equal(["env", "region", "level", "Tenant", "Shard"], settings.DroppedLabels);
        Assert.False(settings.Shipper is { LevelLabel: true }, "the shipper gets the fitted labels too");
    }

    [Fact]
    public void Labels_within_the_limit_are_all_kept()
    {
        var options = Options(env: new() { ["POD_NAME"] = "api-0", ["OTEL_SERVICE_NAME"] = "api" });
        options.LevelLabel = true;
        options.LabelProperties = ["Tenant"];

        var settings = PipelineSettings.Resolve(options);

        Assert.Empty(settings.DroppedLabels);
        Assert.Equal(["Tenant"], settings.Stream.LabelProperties);
        Assert.True(settings.Stream.LevelLabel);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_label_limit_out_of_range_is_an_error(int limit)
    {
        var options = Options();
        options.MaxLabelNames = limit;
        Assert.Contains("MaxLabelNames", Assert.Throws<ArgumentException>(() => PipelineSettings.Resolve(options)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4095)]
    [InlineData((1 << 30) + 1)]
    public void An_entry_budget_out_of_range_is_an_error(int maxEntryBytes)
    {
        var options = Options();
        options.MaxEntryBytes = maxEntryBytes;
        Assert.Contains("MaxEntryBytes must be between 4 KiB and 1 GiB", Assert.Throws<ArgumentException>(() => PipelineSettings.Resolve(options)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_entry_budget_is_at_most_what_a_segment_record_can_carry()
    {
        var options = Options();
        options.SegmentBytes = 64 * 1024;
        options.MaxDiskBytes = 1 << 20;
        options.MaxEntryBytes = 1 << 20;

        var settings = PipelineSettings.Resolve(options);

        Assert.Equal(settings.Wal.MaxPayloadBytes, settings.EntryLimits.MaxBytes);
        Assert.Same(EntryLimits.Default, PipelineSettings.Resolve(Options()).EntryLimits);
    }

    private LogPersistOptions Options(Dictionary<string, string>? env = null) => new()
    {
        Directory = _dir.Path,
        Environment = name => env is not null && env.TryGetValue(name, out var value) ? value : null,
    };
}
