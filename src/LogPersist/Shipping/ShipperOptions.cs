using LogPersist.Loki;

namespace LogPersist.Shipping;

/// <summary>Settings of the shipper: where to push, how to batch, how entries become streams and lines. Defaults live here.</summary>
internal sealed class ShipperOptions
{
    public required LokiClientOptions Loki { get; set; }

    /// <summary>The static labels before overrides; detected from the environment by default (<see cref="EnvironmentLabels"/>).</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> DetectedLabels { get; set; } = EnvironmentLabels.Detect();

    /// <summary>Labels added to or replacing the detected ones; an empty value removes a label.</summary>
    public IReadOnlyDictionary<string, string?> Labels { get; set; } = new Dictionary<string, string?>();

    /// <summary>Keep the instance label (<c>pod</c>), so each process writes its own stream and a late replay is never "too far behind". The default is true.</summary>
    public bool InstanceLabel { get; set; } = true;

    /// <summary>Add the entry's level as a <c>level</c> label. The default is false.</summary>
    public bool LevelLabel { get; set; }

    /// <summary>Properties whose scalar values become labels. Empty by default: a property never becomes a label unless named here.</summary>
    public IReadOnlyList<string> LabelProperties { get; set; } = [];

    /// <summary>The default is <see cref="LineFormat.Json"/>.</summary>
    public LineFormat LineFormat { get; set; } = LineFormat.Json;

    /// <summary>Longest line sent, in UTF-8 bytes; matches Loki 3's default <c>max_line_size</c>. The default is 256 KiB.</summary>
    public int MaxLineBytes { get; set; } = 256 * 1024;

    /// <summary>The default is <see cref="OversizedLineMode.Truncate"/>.</summary>
    public OversizedLineMode OversizedLines { get; set; } = OversizedLineMode.Truncate;

    /// <summary>Distinct values each label property takes in an hour; more become <see cref="CardinalityGuard.Overflow"/>. The default is 100.</summary>
    public int MaxLabelValues { get; set; } = CardinalityGuard.DefaultMaxValues;

    /// <summary>Streams label properties and the level open in an hour; an entry that would open another goes to an overflow stream. The default is 500.</summary>
    public int MaxStreams { get; set; } = CardinalityGuard.DefaultMaxStreams;

    /// <summary>The most labels a stream may carry (Loki's <c>max_label_names_per_series</c>): a stream at it is never split into shards.</summary>
    public int MaxLabelNames { get; set; } = StreamLabelLimit.DefaultMaxLabelNames;

    /// <summary>Properties sent as structured metadata (and left out of the line) while metadata is sent; <c>*</c> names them all. Empty by default.</summary>
    public IReadOnlyList<string> MetadataProperties { get; set; } = [];

    /// <summary>The default is <see cref="StructuredMetadataMode.Auto"/>.</summary>
    public StructuredMetadataMode StructuredMetadata { get; set; } = StructuredMetadataMode.Auto;

    /// <summary>
    /// Structured metadata sent with every entry while structured metadata is on (an adopter's
    /// <c>adopted_by</c>); never labels, never part of the line. Empty by default.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> StaticMetadata { get; set; } = [];

    /// <summary>The WAL position from which these labels and line settings apply; entries before it go under <see cref="EarlierStreams"/>.</summary>
    public Wal.WalPosition StreamFrom { get; set; } = Wal.WalPosition.Start;

    /// <summary>How entries before <see cref="StreamFrom"/> become streams and lines, oldest first (see <see cref="StreamDescription.Earlier"/>).</summary>
    public IReadOnlyList<StreamDescription> EarlierStreams { get; set; } = [];

    /// <summary>A copy: what a reconfiguration or an earlier description changes on it leaves this one as it is.</summary>
    public ShipperOptions Clone() => (ShipperOptions)MemberwiseClone();

    public const int DefaultBatchMaxBytes = 1 << 20;

    public static readonly TimeSpan DefaultBatchMaxWait = TimeSpan.FromSeconds(1);

    /// <summary>Uncompressed size at which a batch is sent. The default is 1 MiB.</summary>
    public int BatchMaxBytes { get; set; } = DefaultBatchMaxBytes;

    /// <summary>Longest time the first entry of a batch waits for more. The default is 1 second.</summary>
    public TimeSpan BatchMaxWait { get; set; } = DefaultBatchMaxWait;

    /// <summary>Requests sent concurrently. The default is 2.</summary>
    public int MaxInFlight { get; set; } = 2;

    /// <summary>
    /// Entries older than this when read are not sent (Loki's <c>reject_old_samples_max_age</c> would
    /// refuse them); they are counted as refused <c>too_old</c> and marked. Null sends everything. The default is 7 days.
    /// </summary>
    public TimeSpan? MaxEntryAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Two batches of one stream are in flight together only while that stream's entries in both span
    /// at most this much time (see <see cref="StreamOrder"/>). The default is 30 minutes, half Loki's out-of-order window.
    /// </summary>
    public TimeSpan ConcurrentSpan { get; set; } = StreamOrder.DefaultConcurrentSpan;

    /// <summary>How often an idle shipper looks for new records. The default is 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Why <paramref name="maxLineBytes"/> cannot be a line limit, or null when it can.</summary>
    public static string? LineLimitError(int maxLineBytes) =>
        maxLineBytes is < 256 or > 4 << 20 ? $"MaxLineBytes must be between 256 bytes and 4 MiB; it is {maxLineBytes}." : null;

    /// <summary>Checks every setting and throws one exception listing all problems.</summary>
    public void Validate()
    {
        var errors = Loki.Validate().ToList();
        if (BatchMaxBytes < 1024 || BatchMaxBytes > 4 << 20)
        {
            errors.Add($"BatchMaxBytes must be between 1 KiB and 4 MiB (Loki refuses larger decompressed pushes); it is {BatchMaxBytes}.");
        }

        if (LineLimitError(MaxLineBytes) is { } lineLimit)
        {
            errors.Add(lineLimit);
        }

        if (BatchMaxWait <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || ConcurrentSpan < TimeSpan.Zero)
        {
            errors.Add("BatchMaxWait and PollInterval must be positive, and ConcurrentSpan not negative.");
        }

        if (MaxInFlight is < 1 or > 64)
        {
            errors.Add($"MaxInFlight must be between 1 and 64; it is {MaxInFlight}.");
        }

        if (MaxEntryAge is { } age && age <= TimeSpan.Zero)
        {
            errors.Add("MaxEntryAge must be positive, or null to send entries of any age.");
        }

        var labels = StreamResolver.StaticLabels(this);
        if (labels.Count == 0)
        {
            errors.Add("The stream needs at least one label; Loki refuses a push with none.");
        }


        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid shipper options: " + string.Join(" ", errors));
        }
    }
}
