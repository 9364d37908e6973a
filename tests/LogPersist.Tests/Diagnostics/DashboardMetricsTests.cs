using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using LogPersist.Cli.Run.Controls;
using LogPersist.Diagnostics;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace LogPersist.Tests.Diagnostics;

/// <summary>
/// samples/grafana/logpersist.json and samples/prometheus/logpersist-alerts.yaml query LogPersist's metrics
/// by the names a Prometheus exporter gives them. These tests take the instruments from a running
/// pipeline (and a <c>logpersist run</c> line filter), name them as the OpenTelemetry Prometheus exporter
/// does, and hold every metric the samples query to that list: a renamed instrument, or a sample that
/// names a metric no instrument exports, fails here instead of as an empty panel or a silent alert.
/// </summary>
public sealed partial class DashboardMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_metric_the_dashboard_queries_is_exported_by_an_instrument()
    {
        var exported = ExportedNames(PublishedInstruments());

        var queried = Samples.DashboardQueries().SelectMany(q => PromQl.MetricNames(q.Expr).Select(m => (q.Where, Metric: m))).ToList();

        Assert.NotEmpty(queried);
        Assert.All(queried, q => Assert.True(exported.Contains(q.Metric), $"{q.Where} queries {q.Metric}, which no LogPersist instrument exports. Exported: {string.Join(", ", exported.Order(StringComparer.Ordinal))}"));
    }

    [Fact]
    public void Every_metric_the_alerting_rules_query_is_exported_by_an_instrument()
    {
        var exported = ExportedNames(PublishedInstruments());

        var queried = Samples.AlertRules().SelectMany(r => PromQl.MetricNames(r.Expr).Select(m => (r.Alert, Metric: m))).ToList();

        Assert.NotEmpty(queried);
        Assert.All(queried, q => Assert.True(exported.Contains(q.Metric), $"alert {q.Alert} queries {q.Metric}, which no LogPersist instrument exports. Exported: {string.Join(", ", exported.Order(StringComparer.Ordinal))}"));
    }

    [Fact]
    public void The_dashboard_shows_the_lag_the_wal_against_its_cap_and_what_was_shipped_refused_and_dropped()
    {
        var instruments = PublishedInstruments();
        var queried = Samples.DashboardQueries().SelectMany(q => PromQl.MetricNames(q.Expr)).ToHashSet(StringComparer.Ordinal);

        string[] essential = ["logpersist.ship.lag", "logpersist.wal.usage", "logpersist.wal.limit", "logpersist.ship.entry.accepted", "logpersist.ship.entry.refused", "logpersist.wal.entry.dropped", "logpersist.wal.entry.written", "logpersist.ship.request.sent"];
        Assert.All(essential, name =>
        {
            var instrument = instruments.SingleOrDefault(i => i.Name == name);
            Assert.True(instrument is not null, $"No instrument is named {name}; the dashboard needs it. Instruments: {string.Join(", ", instruments.Select(i => i.Name).Order(StringComparer.Ordinal))}");
            Assert.True(queried.Contains(PrometheusNaming.Names(instrument)[0]), $"The dashboard does not query {PrometheusNaming.Names(instrument)[0]} ({name}).");
        });

        // The WAL panels compare usage with the cap each WAL publishes, not with a number typed in.
        Assert.Contains(Samples.DashboardQueries(), q => q.Expr.Contains("logpersist_wal_usage_bytes", StringComparison.Ordinal) && q.Expr.Contains("logpersist_wal_limit_bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Dashboard_and_rules_tell_WAL_directories_apart_by_the_label_the_exporter_makes_of_the_meter_tag()
    {
        // The meter tag is an instrumentation-scope attribute: the Prometheus exporter makes it an otel_scope_ label.
        var directoryLabel = "otel_scope_" + PrometheusNaming.Sanitize(LogPersistMeter.DirectoryTag);
        var expressions = Samples.DashboardQueries().Select(q => q.Expr).Concat(Samples.AlertRules().Select(r => r.Expr)).ToList();

        var scopeLabels = expressions.SelectMany(PromQl.GroupingLabels).Where(l => l.StartsWith("otel_scope_", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(new[] { directoryLabel }, scopeLabels);
        Assert.Contains(Samples.DashboardQueries(), q => q.Expr.Contains("logpersist_ship_lag_seconds", StringComparison.Ordinal) && PromQl.GroupingLabels(q.Expr).Contains(directoryLabel));
    }

    [Fact]
    public void Dashboard_panels_have_a_title_a_description_a_unit_and_the_datasource_variable()
    {
        var dashboard = Samples.Dashboard();
        Assert.InRange(dashboard.GetProperty("schemaVersion").GetInt32(), 36, 41);
        Assert.Contains(dashboard.GetProperty("templating").GetProperty("list").EnumerateArray(), v => v.GetProperty("name").GetString() == "datasource" && v.GetProperty("type").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus");

        var panels = Samples.Panels(dashboard).Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels, panel =>
        {
            var title = panel.GetProperty("title").GetString();
            Assert.False(string.IsNullOrWhiteSpace(title));
            Assert.True(panel.TryGetProperty("description", out var description) && description.GetString()!.Length > 40, $"panel '{title}' says what it means and what to do");
            Assert.False(string.IsNullOrEmpty(panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("unit").GetString()), $"panel '{title}' has a unit");
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        });
    }

    [Fact]
    public void Dashboard_alerting_rules_have_a_duration_a_severity_a_summary_and_a_description()
    {
        var rules = Samples.AlertRules();
        Assert.NotEmpty(rules);
        Assert.Equal(rules.Count, rules.Select(r => r.Alert).Distinct().Count());
        Assert.All(rules, rule =>
        {
            Assert.Matches(@"^\d+[smh]$", rule.For);
            Assert.Contains(rule.Severity, new[] { "critical", "warning", "info" });
            Assert.False(string.IsNullOrWhiteSpace(rule.Summary), $"{rule.Alert} has a summary");
            Assert.True(rule.Description.Length > 80, $"{rule.Alert} tells the operator what to check");
        });
    }

    [Fact]
    public void Dashboard_metric_names_are_read_from_PromQL_without_functions_labels_or_variables()
    {
        Assert.Equal(
            new[] { "a_total", "b_seconds" },
            PromQl.MetricNames("sum by (instance, reason) (increase(a_total{job=~\"$job\", reason!=\"x y\"}[$__rate_interval])) / on (instance) group_left max without (le) (b_seconds offset 5m) > 1e3 and vector($wal_cap_bytes * 0.8) unless count(time())").Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "logpersist_wal_entry_written_total" }, PromQl.MetricNames("label_values(logpersist_wal_entry_written_total{job=~\"$job\"}, instance)"));
    }

    [Fact]
    public void Dashboard_names_follow_the_Prometheus_exporter()
    {
        Assert.Equal(new[] { "logpersist_wal_entry_written_size_bytes_total" }, PrometheusNaming.Names(new Instrument("logpersist.wal.entry.written.size", "By", InstrumentKind.Counter)));
        Assert.Equal(new[] { "logpersist_ship_entry_refused_total" }, PrometheusNaming.Names(new Instrument("logpersist.ship.entry.refused", "{entry}", InstrumentKind.Counter)));
        Assert.Equal(new[] { "logpersist_wal_usage_bytes" }, PrometheusNaming.Names(new Instrument("logpersist.wal.usage", "By", InstrumentKind.Gauge)));
        Assert.Equal(new[] { "logpersist_ship_lag_seconds" }, PrometheusNaming.Names(new Instrument("logpersist.ship.lag", "s", InstrumentKind.Gauge)));
        Assert.Equal(new[] { "x_duration_seconds_bucket", "x_duration_seconds_sum", "x_duration_seconds_count" }, PrometheusNaming.Names(new Instrument("x.duration", "s", InstrumentKind.Histogram)));
        Assert.Equal(new[] { "x_ratio" }, PrometheusNaming.Names(new Instrument("x", "1", InstrumentKind.Gauge)));
    }

    /// <summary>
    /// Every instrument of the <c>LogPersist</c> meters a pipeline shipping to Loki creates (the WAL's, the
    /// shipper's, the encoder's cuts) and of a <c>logpersist run</c> line filter, as a listener sees them published.
    /// </summary>
    private List<Instrument> PublishedInstruments()
    {
        var published = new List<Instrument>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == LogPersistMeter.Name
                    && instrument.Meter.Tags?.Any(t => t.Key == LogPersistMeter.DirectoryTag && t.Value is string d && d.StartsWith(_dir.Path, StringComparison.Ordinal)) == true)
                {
                    lock (published)
                    {
                        published.Add(new Instrument(instrument.Name, instrument.Unit, KindOf(instrument)));
                    }
                }
            };
            listener.Start();

            using (LogPipeline.Open(new LogPersistOptions
            {
                Directory = _dir.Combine("wal"),
                ServiceName = "dashboard",
                Instance = "dashboard-0",
                LokiUrl = "http://127.0.0.1:1",
                HttpHandler = new ScriptedHandler(ScriptedHandler.Status(204)),
                FlushTimeout = TimeSpan.Zero,
            }))
            using (new LineFilter(LineControls.Parse([], [], [], null), _dir.Combine("run")))
            {
            }
        }

        var distinct = published.Distinct().ToList();
        // A sanity floor: the WAL, the shipper, the cuts and the run filter each add theirs.
        Assert.Contains(distinct, i => i.Name.StartsWith("logpersist.wal.", StringComparison.Ordinal));
        Assert.Contains(distinct, i => i.Name.StartsWith("logpersist.ship.", StringComparison.Ordinal));
        Assert.Contains(distinct, i => i.Name.StartsWith("logpersist.entry.", StringComparison.Ordinal));
        Assert.Contains(distinct, i => i.Name.StartsWith("logpersist.run.", StringComparison.Ordinal));
        return distinct;
    }

    private static HashSet<string> ExportedNames(IEnumerable<Instrument> instruments) =>
        instruments.SelectMany(PrometheusNaming.Names).ToHashSet(StringComparer.Ordinal);

    private static InstrumentKind KindOf(System.Diagnostics.Metrics.Instrument instrument)
    {
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>))
        {
            return InstrumentKind.Counter;
        }

        if (definition == typeof(UpDownCounter<>) || definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return InstrumentKind.Gauge;
        }

        if (definition == typeof(Histogram<>))
        {
            return InstrumentKind.Histogram;
        }

        throw new InvalidOperationException($"Instrument {instrument.Name} is a {type}: say how the Prometheus exporter names it.");
    }

    internal enum InstrumentKind
    {
        Counter,
        Gauge,
        Histogram,
    }

    internal sealed record Instrument(string Name, string? Unit, InstrumentKind Kind);

    /// <summary>
    /// How the OpenTelemetry Prometheus exporter (and an OpenTelemetry Collector's Prometheus exporters with
    /// their default suffixes) names an instrument: characters other than letters, digits and colons become one
    /// underscore; the unit, without its <c>{annotation}</c> parts and spelled out (<c>By</c> → <c>bytes</c>,
    /// <c>s</c> → <c>seconds</c>), is added unless the name already ends with it; monotonic sums get <c>_total</c>;
    /// gauges of unit <c>1</c> get <c>_ratio</c>; a histogram is exported as its buckets, sum and count.
    /// </summary>
    internal static class PrometheusNaming
    {
        private static readonly Dictionary<string, string> s_units = new(StringComparer.Ordinal)
        {
            ["d"] = "days", ["h"] = "hours", ["min"] = "minutes", ["s"] = "seconds", ["ms"] = "milliseconds", ["us"] = "microseconds", ["ns"] = "nanoseconds",
            ["By"] = "bytes", ["KiBy"] = "kibibytes", ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes", ["TiBy"] = "tibibytes",
            ["KBy"] = "kilobytes", ["MBy"] = "megabytes", ["GBy"] = "gigabytes", ["TBy"] = "terabytes",
            ["m"] = "meters", ["V"] = "volts", ["A"] = "amperes", ["J"] = "joules", ["W"] = "watts", ["g"] = "grams",
            ["Cel"] = "celsius", ["Hz"] = "hertz", ["1"] = "", ["%"] = "percent", ["$"] = "dollars",
        };

        private static readonly Dictionary<string, string> s_perUnits = new(StringComparer.Ordinal)
        {
            ["s"] = "second", ["m"] = "minute", ["h"] = "hour", ["d"] = "day", ["w"] = "week", ["mo"] = "month", ["y"] = "year",
        };

        public static IReadOnlyList<string> Names(Instrument instrument)
        {
            var name = Sanitize(instrument.Name);
            var unit = Unit(instrument.Unit);
            if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
            {
                name += "_" + unit;
            }

            return instrument.Kind switch
            {
                InstrumentKind.Counter => [name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total"],
                InstrumentKind.Gauge => [instrument.Unit == "1" && !name.EndsWith("_ratio", StringComparison.Ordinal) ? name + "_ratio" : name],
                InstrumentKind.Histogram => [name + "_bucket", name + "_sum", name + "_count"],
                _ => throw new ArgumentOutOfRangeException(nameof(instrument)),
            };
        }

        public static string Sanitize(string name)
        {
            var sanitized = Regex.Replace(name, "[^A-Za-z0-9:]+", "_");
            return sanitized.Length > 0 && char.IsAsciiDigit(sanitized[0]) ? "_" + sanitized : sanitized;
        }

        private static string Unit(string? unit)
        {
            var bare = Regex.Replace(unit ?? "", @"\{[^}]*\}", "");
            var slash = bare.IndexOf('/', StringComparison.Ordinal);
            var spelled = slash > 0 && slash < bare.Length - 1
                ? $"{Spell(bare[..slash])}_per_{s_perUnits.GetValueOrDefault(bare[(slash + 1)..], bare[(slash + 1)..])}"
                : Spell(bare);
            return Sanitize(spelled).Trim('_');

            static string Spell(string part) => s_units.GetValueOrDefault(part, part);
        }
    }

    /// <summary>The metric names a PromQL expression (or a Grafana <c>label_values</c> query) selects.</summary>
    internal static partial class PromQl
    {
        private static readonly HashSet<string> s_keywords = new(StringComparer.Ordinal)
        {
            "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "atan2",
        };

        public static IReadOnlyList<string> MetricNames(string expr)
        {
            // label_values(<selector>, <label>): the label is not a metric.
            var text = LabelValues().Replace(expr, "$1");
            text = Strings().Replace(text, " ");
            text = Matchers().Replace(text, " ");
            text = Ranges().Replace(text, " ");
            text = Grouping().Replace(text, " ");
            text = Offsets().Replace(text, " ");
            text = Variables().Replace(text, " ");
            text = Numbers().Replace(text, " ");
            return Identifiers().Matches(text)
                .Where(m => !text[(m.Index + m.Length)..].TrimStart().StartsWith('(') && !s_keywords.Contains(m.Value))
                .Select(m => m.Value)
                .Distinct()
                .ToList();
        }

        /// <summary>The labels of the <c>by</c>, <c>without</c>, <c>on</c> and <c>ignoring</c> clauses of <paramref name="expr"/>.</summary>
        public static IEnumerable<string> GroupingLabels(string expr) =>
            Grouping().Matches(Strings().Replace(expr, " "))
                .SelectMany(m => m.Value[(m.Value.IndexOf('(', StringComparison.Ordinal) + 1)..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));

        [GeneratedRegex(@"label_values\s*\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", RegexOptions.Singleline)]
        private static partial Regex LabelValues();

        [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")]
        private static partial Regex Strings();

        [GeneratedRegex(@"\{[^}]*\}")]
        private static partial Regex Matchers();

        [GeneratedRegex(@"\[[^\]]*\]")]
        private static partial Regex Ranges();

        [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
        private static partial Regex Grouping();

        [GeneratedRegex(@"\boffset\s+-?[0-9A-Za-z_$]+")]
        private static partial Regex Offsets();

        [GeneratedRegex(@"\$\{[^}]*\}|\$[A-Za-z0-9_]+|\[\[[^\]]*\]\]")]
        private static partial Regex Variables();

        [GeneratedRegex(@"(?<![A-Za-z0-9_:])(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")]
        private static partial Regex Numbers();

        [GeneratedRegex(@"[A-Za-z_:][A-Za-z0-9_:]*")]
        private static partial Regex Identifiers();
    }

    internal sealed record Query(string Where, string Expr);

    internal sealed record AlertRule(string Alert, string Expr, string For, string Severity, string Summary, string Description);

    /// <summary>samples/grafana/logpersist.json and samples/prometheus/logpersist-alerts.yaml of this checkout.</summary>
    internal static class Samples
    {
        private static readonly Lazy<string> s_root = new(FindRoot);

        public static JsonElement Dashboard()
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_root.Value, "samples", "grafana", "logpersist.json")));
            return document.RootElement.Clone();
        }

        public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
        {
            foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
            {
                yield return panel;
                if (panel.TryGetProperty("panels", out var nested))
                {
                    foreach (var inner in nested.EnumerateArray())
                    {
                        yield return inner;
                    }
                }
            }
        }

        /// <summary>Every PromQL the dashboard runs: its panels' targets and its query variables.</summary>
        public static List<Query> DashboardQueries()
        {
            var dashboard = Dashboard();
            var queries = new List<Query>();
            foreach (var panel in Panels(dashboard))
            {
                if (panel.TryGetProperty("targets", out var targets))
                {
                    foreach (var target in targets.EnumerateArray())
                    {
                        queries.Add(new Query($"panel '{panel.GetProperty("title").GetString()}' {target.GetProperty("refId").GetString()}", target.GetProperty("expr").GetString()!));
                    }
                }
            }

            foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
            {
                if (variable.GetProperty("type").GetString() == "query")
                {
                    var query = variable.GetProperty("query");
                    var text = query.ValueKind == JsonValueKind.String ? query.GetString()! : query.GetProperty("query").GetString()!;
                    queries.Add(new Query($"variable {variable.GetProperty("name").GetString()}", text));
                }
            }

            return queries;
        }

        public static List<AlertRule> AlertRules()
        {
            var yaml = new YamlStream();
            using (var reader = new StringReader(File.ReadAllText(Path.Combine(s_root.Value, "samples", "prometheus", "logpersist-alerts.yaml"))))
            {
                yaml.Load(reader);
            }

            var root = (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
            Assert.Equal(new[] { "groups" }, root.Children.Keys.Select(k => k.ToString()));
            var rules = new List<AlertRule>();
            foreach (var group in ((YamlSequenceNode)root["groups"]).Cast<YamlMappingNode>())
            {
                Assert.False(string.IsNullOrEmpty(Scalar(group, "name")));
                foreach (var rule in ((YamlSequenceNode)group["rules"]).Cast<YamlMappingNode>())
                {
                    var labels = (YamlMappingNode)rule["labels"];
                    var annotations = (YamlMappingNode)rule["annotations"];
                    rules.Add(new AlertRule(Scalar(rule, "alert"), Scalar(rule, "expr"), Scalar(rule, "for"), Scalar(labels, "severity"), Scalar(annotations, "summary"), Scalar(annotations, "description")));
                }
            }

            return rules;
        }

        private static string Scalar(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value ?? "" : "";

        private static string FindRoot()
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "LogPersist.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException($"No LogPersist.sln above {AppContext.BaseDirectory}.");
        }
    }
}
