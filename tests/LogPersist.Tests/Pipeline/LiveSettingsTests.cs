using System.Text.Json;
using LogPersist.Entries;
using LogPersist.LokiTestServer;
using LogPersist.Pipeline;
using LogPersist.Tests.Support;
using TestServer = LogPersist.LokiTestServer.LokiTestServer;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Pipeline;

/// <summary>
/// <see cref="LogPipeline.Reconfigure"/>: settings changed while entries are written apply without losing
/// or sending twice an entry; what needs a restart is reported once; invalid settings change nothing.
/// </summary>
public sealed class LiveSettingsTests : IAsyncLifetime
{
    private readonly TempDirectory _root = new();
    private TestServer _first = null!;
    private TestServer _second = null!;

    public async Task InitializeAsync()
    {
        _first = await TestServer.StartAsync();
        _second = await TestServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task A_Loki_URL_moved_while_entries_are_written_stores_every_entry_exactly_once_across_both_servers()
    {
        var options = Options(_first.BaseAddress);
        const int Count = 3000;
        await using (var pipeline = LogPipeline.Open(options))
        {
            for (var i = 0; i < Count; i++)
            {
                Assert.True(pipeline.Append(Entry($"entry {i}")));
                if (i == Count / 2)
                {
                    // The first server has stored some: the move happens while shipping to it is under way.
                    await WaitForAsync(() => _first.EntryCount > 0, "the first server to store entries");
                    Assert.True(pipeline.Reconfigure(With(options, o => o.LokiUrl = _second.BaseAddress.ToString())));
                    Assert.Equal(_second.PushUri.ToString(), pipeline.Destination);
                }

                if (i % 100 == 0)
                {
                    await Task.Delay(2);
                }
            }

            Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(20)));
        }

        var texts = _first.Entries.Concat(_second.Entries).Select(e => Message(e.Line)).ToList();
        Assert.Equal(Count, texts.Count);
        Assert.Equal(Count, texts.Distinct().Count());
        Resends.AssertNone(_first);
        Resends.AssertNone(_second);

        // Both servers took part, and what was written after the move went to the second one.
        Assert.NotEmpty(_first.Entries);
        Assert.Contains(_second.Entries, e => Message(e.Line) == $"entry {Count - 1}");
    }

    [Fact]
    public async Task Credentials_rotated_while_Loki_refuses_the_old_ones_lose_nothing()
    {
        await using var guarded = await TestServer.StartAsync(new LokiTestServerOptions { RequiredAuthorization = Basic("shipper", "new-secret") });
        var options = Options(guarded.BaseAddress, o =>
        {
            o.Username = "shipper";
            o.Password = "old-secret";
        });
        await using var pipeline = LogPipeline.Open(options);
        for (var i = 0; i < 50; i++)
        {
            pipeline.Append(Entry($"before {i}"));
        }

        await WaitForAsync(() => guarded.Requests.Any(r => r.Status == 401), "a push refused for its credentials");
        Assert.Empty(guarded.Entries);

        // The refused push now waits out a long backoff; the new password sends it again at once.
        Assert.True(pipeline.Reconfigure(With(options, o => o.Password = "new-secret")));
        for (var i = 0; i < 50; i++)
        {
            pipeline.Append(Entry($"after {i}"));
        }

        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        var texts = guarded.Entries.Select(e => Message(e.Line)).ToHashSet();
        Assert.Equal(100, texts.Count);
        Assert.Contains("before 0", texts);
        Assert.Contains("after 49", texts);
        Resends.AssertNone(guarded);
        Assert.All(guarded.Requests.Where(r => r.Status == 401), r => Assert.Equal(Basic("shipper", "old-secret"), r.Authorization));
    }

    [Fact]
    public async Task Labels_changed_while_running_go_with_the_entries_written_after_the_change()
    {
        var options = Options(_first.BaseAddress, o => o.Labels = new() { ["team"] = "payments" });
        await using (var pipeline = LogPipeline.Open(options))
        {
            for (var i = 0; i < 20; i++)
            {
                pipeline.Append(Entry($"before {i}"));
            }

            Assert.True(pipeline.Reconfigure(With(options, o => o.Labels = new() { ["team"] = "billing" })));
            for (var i = 0; i < 20; i++)
            {
                pipeline.Append(Entry($"after {i}"));
            }

            Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(40, _first.EntryCount);
        Assert.All(_first.Entries, e => Assert.Equal(Message(e.Line).StartsWith("before", StringComparison.Ordinal) ? "payments" : "billing", e.LabelMap["team"]));
        Resends.AssertNone(_first);
    }

    [Fact]
    public async Task After_a_restart_unshipped_entries_go_under_the_labels_they_were_written_under()
    {
        // Nothing listens here: every entry stays in the WAL.
        var options = Options(new Uri("http://127.0.0.1:9/"), o => o.Labels = new() { ["team"] = "payments" });
        await using (var pipeline = LogPipeline.Open(options))
        {
            pipeline.Append(Entry("first"));
            var billing = With(options, o => o.Labels = new() { ["team"] = "billing" });
            Assert.True(pipeline.Reconfigure(billing));
            pipeline.Append(Entry("second"));
            Assert.True(pipeline.Reconfigure(With(billing, o => o.LineFormat = LineFormat.Logfmt)));
            pipeline.Append(Entry("third"));

            // Saved when the change returned, whatever the shipper was doing: a crash now resends the same way.
            Assert.True(LogPersist.Shipping.StreamDescription.TryLoad(new System.IO.Abstractions.FileSystem(), pipeline.Directory, out var saved, out _));
            Assert.Equal(LineFormat.Logfmt, saved.LineFormat);
            Assert.Equal(["payments", "billing"], saved.Earlier.Select(d => d.Labels.Labels.Single(l => l.Key == "team").Value).ToArray());
            Assert.False(await pipeline.FlushAsync(TimeSpan.FromMilliseconds(200)));
        }

        var restarted = With(options, o =>
        {
            o.LokiUrl = _first.BaseAddress.ToString();
            o.Labels = new() { ["team"] = "search" };
        });
        await using (var pipeline = LogPipeline.Open(restarted))
        {
            pipeline.Append(Entry("fourth"));
            Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        var byLine = _first.Entries.ToDictionary(e => e.Line.Contains("first", StringComparison.Ordinal) ? "first"
            : e.Line.Contains("second", StringComparison.Ordinal) ? "second"
            : e.Line.Contains("third", StringComparison.Ordinal) ? "third" : "fourth");
        Assert.Equal(4, byLine.Count);
        Assert.Equal("payments", byLine["first"].LabelMap["team"]);
        Assert.Equal("billing", byLine["second"].LabelMap["team"]);
        Assert.StartsWith("{", byLine["second"].Line, StringComparison.Ordinal);
        Assert.Equal("billing", byLine["third"].LabelMap["team"]);
        Assert.StartsWith("level=", byLine["third"].Line, StringComparison.Ordinal);
        Assert.Equal("search", byLine["fourth"].LabelMap["team"]);
    }

    [Fact]
    public async Task A_setting_that_needs_a_restart_is_reported_once_and_kept_while_the_rest_applies()
    {
        var events = new List<string>();
        using var listener = new EventCollector(events);
        var options = Options(_first.BaseAddress);
        await using var pipeline = LogPipeline.Open(options);
        var directory = pipeline.Directory;
        var moved = With(options, o =>
        {
            o.SegmentBytes = 2 << 20;
            o.Directory = Path.Combine(_root.Path, "elsewhere");
            o.MinimumLevel = EntryLevel.Warning;
        });

        Assert.True(pipeline.Reconfigure(moved));
        Assert.True(pipeline.Reconfigure(With(moved, o => o.MaxInFlight = 3)));

        Assert.Equal(EntryLevel.Warning, pipeline.MinimumLevel);
        Assert.Equal(directory, pipeline.Directory);
        Assert.Equal(1L << 20, pipeline.SegmentBytes);
        Assert.Equal(3, pipeline.Shipper!.SlotLimit);
        Assert.Contains("SegmentBytes", pipeline.RestartNeeded, StringComparison.Ordinal);
        Assert.Contains("Directory", pipeline.RestartNeeded, StringComparison.Ordinal);
        var health = PipelineHealth.Evaluate(pipeline, new HealthThresholds());
        Assert.Equal(HealthState.Degraded, health.State);
        Assert.Contains("restart to apply Directory, SegmentBytes", health.Description, StringComparison.Ordinal);
        lock (events)
        {
            Assert.Single(events, e => e.Contains("Directory, SegmentBytes", StringComparison.Ordinal) && e.StartsWith(directory, StringComparison.Ordinal));
        }

        // Back to the running values: nothing waits for a restart any more.
        Assert.True(pipeline.Reconfigure(options));
        Assert.Null(pipeline.RestartNeeded);
        Assert.Equal(HealthState.Healthy, PipelineHealth.Evaluate(pipeline, new HealthThresholds()).State);
    }

    [Fact]
    public async Task Invalid_settings_are_reported_in_one_message_and_change_nothing()
    {
        var events = new List<string>();
        using var listener = new EventCollector(events);
        var options = Options(_first.BaseAddress);
        await using var pipeline = LogPipeline.Open(options);

        var invalid = With(options, o =>
        {
            o.MinimumLevel = EntryLevel.Error;
            o.MaxInFlight = 0;
            o.BatchMaxBytes = 10;
            o.LokiUrl = _second.BaseAddress.ToString();
        });
        Assert.False(pipeline.Reconfigure(invalid));

        Assert.Equal(EntryLevel.Trace, pipeline.MinimumLevel);
        Assert.Equal(_first.PushUri.ToString(), pipeline.Destination);
        Assert.Equal(2, pipeline.Shipper!.SlotLimit);
        lock (events)
        {
            var rejection = Assert.Single(events, e => e.Contains("MaxInFlight", StringComparison.Ordinal));
            Assert.Contains("BatchMaxBytes", rejection, StringComparison.Ordinal);
        }

        pipeline.Append(Entry("still shipped"));
        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(_first.Entries);
        Assert.Empty(_second.Entries);
    }

    [Fact]
    public async Task A_Loki_URL_set_while_running_starts_shipping_and_one_removed_stops_it()
    {
        var options = Options(null);
        await using var pipeline = LogPipeline.Open(options);
        pipeline.Append(Entry("kept in the WAL"));
        Assert.Null(pipeline.Shipper);

        Assert.True(pipeline.Reconfigure(With(options, o => o.LokiUrl = _first.BaseAddress.ToString())));
        Assert.NotNull(pipeline.Shipper);
        pipeline.Append(Entry("shipped at once"));
        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["kept in the WAL", "shipped at once"], _first.Entries.Select(e => Message(e.Line)).Order().ToArray());

        Assert.True(pipeline.Reconfigure(options));
        Assert.Null(pipeline.Shipper);
        Assert.Equal(LogPipeline.NoDestination, pipeline.Destination);
        pipeline.Append(Entry("not shipped"));
        await Task.Delay(300);
        Assert.Equal(2, _first.EntryCount);
        Resends.AssertNone(_first);
    }

    [Fact]
    public async Task A_Loki_URL_removed_when_the_stream_description_cannot_be_saved_still_stops_shipping_and_says_so()
    {
        var options = Options(_first.BaseAddress);
        await using var pipeline = LogPipeline.Open(options);
        pipeline.Append(Entry("shipped"));
        Assert.True(await pipeline.FlushAsync(TimeSpan.FromSeconds(10)));

        // A directory where stream.json goes: the description cannot be written.
        var description = Path.Combine(pipeline.Wal.Directory, LogPersist.Shipping.StreamDescription.FileName);
        File.Delete(description);
        Directory.CreateDirectory(description);

        Assert.True(pipeline.Reconfigure(With(options, o => o.LokiUrl = null)));
        Assert.Null(pipeline.Shipper);
        Assert.Equal(LogPipeline.NoDestination, pipeline.Destination);
        Assert.Equal(1, _first.EntryCount);
    }

    [Fact]
    public async Task A_lower_disk_cap_applies_from_the_next_segment()
    {
        var options = Options(null, o =>
        {
            o.SegmentBytes = 64 << 10;
            o.MaxDiskBytes = 1 << 20;
            o.FullMode = WalFullMode.DropNewest;
        });
        await using var pipeline = LogPipeline.Open(options);
        var payload = new string('x', 2000);
        for (var i = 0; i < 200; i++)
        {
            Assert.True(pipeline.Append(Entry(payload)));
        }

        Assert.True(pipeline.Reconfigure(With(options, o => o.MaxDiskBytes = 256 << 10)));
        Assert.Equal(256 << 10, pipeline.MaxDiskBytes);
        var dropped = 0;
        for (var i = 0; i < 200; i++)
        {
            dropped += pipeline.Append(Entry(payload)) ? 0 : 1;
        }

        // The WAL already held more than the new cap: once its segment is full, new entries are dropped and counted.
        Assert.True(dropped > 100, $"{dropped} entries dropped");
        Assert.Equal(dropped, pipeline.Wal.Metrics.DroppedTotal());
    }

    [Fact]
    public void Every_public_option_either_applies_live_or_is_reported_as_needing_a_restart()
    {
        var classified = SettingsChange.Live.Select(s => s.Name).Concat(SettingsChange.RestartOnly.Select(s => s.Name)).ToList();
        var options = typeof(LogPersistOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();

        Assert.Equal(options.Order(), classified.Order());
    }

    [Fact]
    public void The_running_copy_of_the_options_holds_every_setting_and_collections_of_its_own()
    {
        var source = Options(_first.BaseAddress, o =>
        {
            o.Headers["X-Team"] = "payments";
            o.LabelProperties.Add("tenant");
            o.Labels["env"] = "prod";
        });

        var copy = SettingsChange.Copy(source);

        foreach (var property in typeof(LogPersistOptions).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
        {
            var value = property.GetValue(source);
            if (value is System.Collections.IEnumerable and not string)
            {
                Assert.NotSame(value, property.GetValue(copy));
                Assert.Equal(((System.Collections.IEnumerable)value).Cast<object>(), ((System.Collections.IEnumerable)property.GetValue(copy)!).Cast<object>());
            }
            else
            {
                Assert.Equal(value, property.GetValue(copy));
            }
        }
    }

    private LogPersistOptions Options(Uri? loki, Action<LogPersistOptions>? change = null)
    {
        var options = new LogPersistOptions
        {
            Directory = _root.Path,
            ServiceName = "orders",
            Instance = "orders-0",
            LokiUrl = loki?.ToString() ?? "",
            SegmentBytes = 1 << 20,
            MaxDiskBytes = 64 << 20,
            BatchMaxWait = TimeSpan.FromMilliseconds(20),
            StructuredMetadata = StructuredMetadataMode.Off,
            FlushTimeout = TimeSpan.FromSeconds(2),
            Environment = _ => null,
        };
        change?.Invoke(options);
        return options;
    }

    /// <summary>A copy of <paramref name="options"/> with a change, as a configuration reload binds anew.</summary>
    private static LogPersistOptions With(LogPersistOptions options, Action<LogPersistOptions> change)
    {
        var copy = new LogPersistOptions();
        foreach (var property in typeof(LogPersistOptions).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic))
        {
            if (property.CanWrite)
            {
                property.SetValue(copy, property.GetValue(options));
            }
        }

        copy.Labels = new Dictionary<string, string>(options.Labels);
        copy.Headers = new Dictionary<string, string>(options.Headers);
        copy.LabelProperties = [.. options.LabelProperties];
        change(copy);
        return copy;
    }

    private static byte[] Entry(string text) => new EntryEncoder().Encode(new LogEntry { Category = "t", Template = text, TimestampNs = LogEntry.NowNs(TimeProvider.System) }).ToArray();

    private static string Message(string line) => JsonDocument.Parse(line).RootElement.GetProperty("msg").GetString()!;

    private static string Basic(string user, string password) =>
        "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password));
}
