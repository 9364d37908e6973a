using System.IO.Abstractions;
using System.Text.Json;
using LogPersist.Loki;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Shipping;

/// <summary>
/// How a WAL's entries become Loki streams and lines: the resolved static labels and the settings
/// that shape each entry. A pipeline saves it in its WAL directory when it opens, so a process that
/// ships the directory later (<c>logpersist drain</c>, an adopting instance) sends the entries under
/// the labels of the process that wrote them, not its own.
/// <para>
/// Labels and line settings can change while entries wait in the WAL (a configuration reload, a restart
/// with new settings). Each description therefore applies from a WAL position (<see cref="From"/>) on,
/// and the descriptions of earlier entries not yet acknowledged are kept with it (<see cref="Earlier"/>):
/// an entry is always sent, and sent again after a crash, under the description it was written under,
/// so a resend is identical and Loki stores it once.
/// </para>
/// </summary>
internal sealed record StreamDescription
{
    public const string FileName = WalFiles.StreamDescriptionName;
    private const int CurrentVersion = 1;

    /// <summary>Most earlier descriptions kept; beyond it the oldest is forgotten, and its entries go under the next one.</summary>
    public const int MaxEarlier = 32;

    private static readonly object SaveLock = new();

    /// <summary>The first WAL position this description applies to; entries before it go under <see cref="Earlier"/>.</summary>
    public WalPosition From { get; init; } = WalPosition.Start;

    /// <summary>The descriptions of entries before <see cref="From"/> still in the WAL, oldest first, each with its own <see cref="From"/>.</summary>
    public IReadOnlyList<StreamDescription> Earlier { get; init; } = [];

    /// <summary>The static labels, resolved (instance label included unless turned off).</summary>
    public required LabelSet Labels { get; init; }

    public bool LevelLabel { get; init; }

    public IReadOnlyList<string> LabelProperties { get; init; } = [];

    /// <summary>The label cardinality caps (<see cref="LogPersistOptions.MaxLabelValues"/>, <see cref="LogPersistOptions.MaxStreams"/>).</summary>
    public int MaxLabelValues { get; init; } = CardinalityGuard.DefaultMaxValues;

    public int MaxStreams { get; init; } = CardinalityGuard.DefaultMaxStreams;

    /// <summary>Properties sent as structured metadata while metadata is sent (<see cref="LogPersistOptions.MetadataProperties"/>).</summary>
    public IReadOnlyList<string> MetadataProperties { get; init; } = [];

    public LineFormat LineFormat { get; init; } = LineFormat.Json;

    public int MaxLineBytes { get; init; } = 256 * 1024;

    public OversizedLineMode OversizedLines { get; init; } = OversizedLineMode.Truncate;

    public StructuredMetadataMode StructuredMetadata { get; init; } = StructuredMetadataMode.Auto;

    /// <summary>
    /// In <see cref="StructuredMetadataMode.Auto"/>: whether the shipper decided to send structured metadata
    /// (Loki's buildinfo said 3.x; false once Loki refused it). Kept so that resends after a restart carry
    /// the metadata of the first send. Null until decided.
    /// </summary>
    public bool? MetadataDecision { get; init; }

    /// <summary>
    /// What a WAL directory without a description was most likely written as: the labels its path
    /// <c>{root}/{namespace}/{service}/{instance}</c> implies and the default line settings.
    /// </summary>
    public static StreamDescription FromPath(string directory)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var instance = Path.GetFileName(full);
        var serviceDirectory = Path.GetDirectoryName(full);
        if (serviceDirectory is not null
            && Path.GetFileName(serviceDirectory) == AdoptionArea.DirectoryName
            && AdoptionArea.TryParse(instance, out var adopted, out _, out var isClaim) && !isClaim)
        {
            // An adopted directory, .adoption/{instance}.{epoch}: the labels are those of where it came from.
            instance = adopted;
            serviceDirectory = Path.GetDirectoryName(serviceDirectory);
        }

        var service = serviceDirectory is null ? null : Path.GetFileName(serviceDirectory);
        var namespaceDirectory = serviceDirectory is null ? null : Path.GetDirectoryName(serviceDirectory);
        var ns = namespaceDirectory is null ? null : Path.GetFileName(namespaceDirectory);
        var labels = new List<KeyValuePair<string, string?>>
        {
            new(EnvironmentLabels.ServiceName, string.IsNullOrEmpty(service) ? "unknown_service" : service),
            new(EnvironmentLabels.Instance, instance),
        };
        if (!string.IsNullOrEmpty(ns) && ns != "default")
        {
            labels.Add(new(EnvironmentLabels.Namespace, ns));
        }

        return new StreamDescription { Labels = LabelSet.Create(labels) };
    }

    /// <summary>The description a shipper's settings give its entries, from <see cref="ShipperOptions.StreamFrom"/> on.</summary>
    public static StreamDescription Of(ShipperOptions options) => new()
    {
        From = options.StreamFrom,
        Labels = StreamResolver.StaticLabels(options),
        LevelLabel = options.LevelLabel,
        LabelProperties = options.LabelProperties.ToArray(),
        MetadataProperties = options.MetadataProperties.ToArray(),
        MaxLabelValues = options.MaxLabelValues,
        MaxStreams = options.MaxStreams,
        LineFormat = options.LineFormat,
        MaxLineBytes = options.MaxLineBytes,
        OversizedLines = options.OversizedLines,
        StructuredMetadata = options.StructuredMetadata,
    };

    /// <summary>Whether entries would become the same streams and lines under both descriptions.</summary>
    public bool SameShape(StreamDescription other) =>
        string.Equals(Labels.Text, other.Labels.Text, StringComparison.Ordinal)
        && LevelLabel == other.LevelLabel
        && LabelProperties.SequenceEqual(other.LabelProperties, StringComparer.Ordinal)
        && MetadataProperties.SequenceEqual(other.MetadataProperties, StringComparer.Ordinal)
        && MaxLabelValues == other.MaxLabelValues
        && MaxStreams == other.MaxStreams
        && LineFormat == other.LineFormat
        && MaxLineBytes == other.MaxLineBytes
        && OversizedLines == other.OversizedLines
        && StructuredMetadata == other.StructuredMetadata;

    /// <summary>
    /// This description applied from <paramref name="from"/> on, after <paramref name="previous"/> (with
    /// its own earlier ones): what is left of them before <paramref name="acknowledged"/> is forgotten.
    /// When the shape did not change, the previous description simply goes on.
    /// </summary>
    public StreamDescription After(StreamDescription previous, WalPosition from, WalPosition acknowledged)
    {
        if (SameShape(previous))
        {
            return this with { From = previous.From, Earlier = Prune(previous.Earlier, previous.From, acknowledged) };
        }

        var earlier = previous.Earlier.Append(previous with { Earlier = [] }).ToList();
        return this with { From = from, Earlier = Prune(earlier, from, acknowledged) };
    }

    /// <summary>Drops the descriptions whose every entry lies before <paramref name="acknowledged"/>, and the oldest beyond <see cref="MaxEarlier"/>.</summary>
    private static List<StreamDescription> Prune(IReadOnlyList<StreamDescription> earlier, WalPosition next, WalPosition acknowledged)
    {
        var kept = new List<StreamDescription>();
        for (var i = 0; i < earlier.Count; i++)
        {
            var end = i + 1 < earlier.Count ? earlier[i + 1].From : next;
            if (end > acknowledged && end > earlier[i].From)
            {
                kept.Add(earlier[i]);
            }
        }

        return kept.Count > MaxEarlier ? kept.GetRange(kept.Count - MaxEarlier, MaxEarlier) : kept;
    }

    /// <summary>Applies the description to a shipper's settings: its labels replace whatever the shipper would detect.</summary>
    public void ApplyTo(ShipperOptions options)
    {
        options.StreamFrom = From;
        options.EarlierStreams = Earlier;
        options.DetectedLabels = Labels.Labels.Select(l => new KeyValuePair<string, string?>(l.Key, l.Value)).ToArray();
        options.Labels = new Dictionary<string, string?>();
        options.InstanceLabel = true;
        options.LevelLabel = LevelLabel;
        options.LabelProperties = LabelProperties.ToArray();
        options.MetadataProperties = MetadataProperties.ToArray();
        options.MaxLabelValues = MaxLabelValues;
        options.MaxStreams = MaxStreams;
        options.LineFormat = LineFormat;
        options.MaxLineBytes = MaxLineBytes;
        options.OversizedLines = OversizedLines;
        options.StructuredMetadata = StructuredMetadata;
    }

    /// <summary>Writes the description into <paramref name="directory"/> (new file, then rename), owner-only.</summary>
    public void Save(IFileSystem fileSystem, string directory)
    {
        lock (SaveLock)
        {
            SaveUnlocked(fileSystem, directory);
        }
    }

    /// <summary>
    /// Saves <paramref name="description"/> (its labels, line settings, position and earlier descriptions)
    /// keeping the structured-metadata decision already saved there.
    /// </summary>
    public static void SaveKeepingDecision(IFileSystem fileSystem, string directory, StreamDescription description)
    {
        lock (SaveLock)
        {
            if (TryLoad(fileSystem, directory, out var saved, out _) && saved.MetadataDecision is { } decision && saved.StructuredMetadata == description.StructuredMetadata)
            {
                description = description with { MetadataDecision = decision };
            }

            description.SaveUnlocked(fileSystem, directory);
        }
    }

    /// <summary>
    /// Saves <paramref name="stream"/> as applying from <paramref name="from"/> on, after the descriptions
    /// already saved in <paramref name="directory"/> (those of entries before <paramref name="acknowledged"/>
    /// are forgotten), keeping the structured-metadata decision while the mode is the same. Returns what it saved.
    /// </summary>
    public static StreamDescription SaveAfter(IFileSystem fileSystem, string directory, StreamDescription stream, WalPosition from, WalPosition acknowledged)
    {
        lock (SaveLock)
        {
            var effective = stream with { From = from };
            if (TryLoad(fileSystem, directory, out var saved, out _))
            {
                effective = stream.After(saved, from, acknowledged);
                if (saved.MetadataDecision is { } decision && saved.StructuredMetadata == stream.StructuredMetadata)
                {
                    effective = effective with { MetadataDecision = decision };
                }
            }

            effective.SaveUnlocked(fileSystem, directory);
            return effective;
        }
    }

    private void SaveUnlocked(IFileSystem fileSystem, string directory)
    {
        var path = fileSystem.Path.Combine(directory, FileName);
        var temporary = TemporaryFile.PathFor(fileSystem, path);
        try
        {
            Write(fileSystem, temporary);
            fileSystem.File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TemporaryFile.TryDelete(fileSystem, temporary);
            throw;
        }
    }

    private void Write(IFileSystem fileSystem, string temporary)
    {
        using (var stream = TemporaryFile.Create(fileSystem, temporary))
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteNumber("version", CurrentVersion);
            WriteShape(writer);
            if (MetadataDecision is { } decision)
            {
                writer.WriteBoolean("sendsStructuredMetadata", decision);
            }

            if (Earlier.Count > 0)
            {
                writer.WriteStartArray("earlier");
                foreach (var earlier in Earlier)
                {
                    writer.WriteStartObject();
                    earlier.WriteShape(writer);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            // Not synced: it is rewritten at every start, and a reader falls back to the path's labels
            // if a power loss left it empty; a device sync here would delay the first log call.
            writer.Flush();
        }
    }

    private void WriteShape(Utf8JsonWriter writer)
    {
        if (From != WalPosition.Start)
        {
            writer.WriteString("from", From.ToString());
        }

        writer.WriteStartObject("labels");
        foreach (var (name, value) in Labels.Labels)
        {
            writer.WriteString(name, value);
        }

        writer.WriteEndObject();
        writer.WriteBoolean("levelLabel", LevelLabel);
        writer.WriteStartArray("labelProperties");
        foreach (var property in LabelProperties)
        {
            writer.WriteStringValue(property);
        }

        writer.WriteEndArray();
        if (MetadataProperties.Count > 0)
        {
            writer.WriteStartArray("metadataProperties");
            foreach (var property in MetadataProperties)
            {
                writer.WriteStringValue(property);
            }

            writer.WriteEndArray();
        }

        // Written only when set, so that a description of the defaults reads as it always did.
        if (MaxLabelValues != CardinalityGuard.DefaultMaxValues)
        {
            writer.WriteNumber("maxLabelValues", MaxLabelValues);
        }

        if (MaxStreams != CardinalityGuard.DefaultMaxStreams)
        {
            writer.WriteNumber("maxStreams", MaxStreams);
        }

        writer.WriteString("lineFormat", LineFormat.ToString());
        writer.WriteNumber("maxLineBytes", MaxLineBytes);
        writer.WriteString("oversizedLines", OversizedLines.ToString());
        writer.WriteString("structuredMetadata", StructuredMetadata.ToString());
    }

    /// <summary>
    /// Records the shipper's structured-metadata decision in the description saved in <paramref name="directory"/>;
    /// a directory without a readable description keeps none (its shipper decides again after a restart).
    /// </summary>
    public static void SaveMetadataDecision(IFileSystem fileSystem, string directory, bool send)
    {
        try
        {
            lock (SaveLock)
            {
                if (TryLoad(fileSystem, directory, out var description, out _) && description.MetadataDecision != send)
                {
                    (description with { MetadataDecision = send }).SaveUnlocked(fileSystem, directory);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Diagnostics.LogPersistEventSource.Log.OperationFailed(directory, "saving the structured metadata decision", e);
        }
    }

    /// <summary>
    /// Reads the description saved in <paramref name="directory"/>. False when there is none;
    /// <paramref name="error"/> says why when a file exists but cannot be used: it is not a small
    /// regular file (<see cref="ControlFile"/>), not valid JSON, of a later version, or its content is
    /// out of bounds (no labels, more than <see cref="MaxLabels"/>, a line limit the shipper refuses, a
    /// value that names no setting). The caller then ships under the labels the path implies.
    /// </summary>
    public static bool TryLoad(IFileSystem fileSystem, string directory, out StreamDescription description, out string? error)
    {
        description = null!;
        error = null;
        var path = fileSystem.Path.Combine(directory, FileName);
        try
        {
            if (ControlFile.Read(fileSystem, path) is not { } bytes)
            {
                return false;
            }

            using var document = JsonDocument.Parse(bytes);
            var problem = TryRead(document.RootElement, out description);
            if (problem is not null)
            {
                error = $"'{path}' is not usable: {problem}";
                description = null!;
                return false;
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            error = $"'{path}' is unreadable: {e.Message}";
            return false;
        }
    }

    /// <summary>The most labels a saved description may name (Loki's own limits are far lower).</summary>
    public const int MaxLabels = 100;

    private static string? TryRead(JsonElement root, out StreamDescription description)
    {
        description = null!;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "it is not a JSON object";
        }

        if (!root.TryGetProperty("version", out var version) || !version.TryGetInt32(out var number))
        {
            return "it has no version";
        }

        if (number != CurrentVersion)
        {
            return $"it has version {number}; this version reads {CurrentVersion}";
        }

        if (ReadShape(root, out description) is { } problem)
        {
            return problem;
        }

        if (root.TryGetProperty("sendsStructuredMetadata", out var decision) && decision.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return "sendsStructuredMetadata is not true or false";
        }

        var earlier = new List<StreamDescription>();
        if (root.TryGetProperty("earlier", out var list))
        {
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > MaxEarlier)
            {
                return $"earlier is not an array of at most {MaxEarlier} descriptions";
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    return "earlier holds something other than descriptions";
                }

                if (ReadShape(item, out var shape) is { } earlierProblem)
                {
                    return "an earlier description: " + earlierProblem;
                }

                if (earlier.Count > 0 && shape.From <= earlier[^1].From)
                {
                    return "earlier descriptions are not in WAL order";
                }

                earlier.Add(shape);
            }
        }

        if (earlier.Count > 0 && description.From <= earlier[^1].From)
        {
            return "the description starts before an earlier one";
        }

        description = description with
        {
            Earlier = earlier,
            MetadataDecision = decision.ValueKind is JsonValueKind.True or JsonValueKind.False ? decision.GetBoolean() : null,
        };
        return null;
    }

    private static string? ReadShape(JsonElement root, out StreamDescription description)
    {
        description = null!;
        var from = WalPosition.Start;
        if (root.TryGetProperty("from", out var start) && (start.ValueKind != JsonValueKind.String || !TryParsePosition(start.GetString()!, out from)))
        {
            return "from is not a WAL position (segment:offset)";
        }

        if (!root.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
        {
            return "it has no labels object";
        }

        var pairs = new List<KeyValuePair<string, string?>>();
        foreach (var label in labels.EnumerateObject())
        {
            if (label.Value.ValueKind != JsonValueKind.String || label.Name.Length == 0)
            {
                return $"label '{label.Name}' is not a name with a string value";
            }

            pairs.Add(new(label.Name, label.Value.GetString()));
        }

        var set = LabelSet.Create(pairs);
        if (set.Count == 0 || pairs.Count > MaxLabels)
        {
            return $"it names {pairs.Count} labels; a stream needs 1 to {MaxLabels}";
        }

        if (Names(root, "labelProperties") is not { } properties)
        {
            return $"labelProperties is not an array of at most {MaxLabels} names";
        }

        if (Names(root, "metadataProperties") is not { } metadataProperties)
        {
            return $"metadataProperties is not an array of at most {MaxLabels} names";
        }

        if (Cap(root, "maxLabelValues", CardinalityGuard.DefaultMaxValues) is not { } maxLabelValues
            || Cap(root, "maxStreams", CardinalityGuard.DefaultMaxStreams) is not { } maxStreams)
        {
            return "maxLabelValues or maxStreams is not a number from 1 to 100000";
        }

        if (!root.TryGetProperty("maxLineBytes", out var limit) || !limit.TryGetInt32(out var maxLineBytes) || ShipperOptions.LineLimitError(maxLineBytes) is not null)
        {
            return "maxLineBytes is not a line limit from 256 bytes to 4 MiB";
        }

        if (Setting<LineFormat>(root, "lineFormat") is not { } lineFormat
            || Setting<OversizedLineMode>(root, "oversizedLines") is not { } oversized
            || Setting<StructuredMetadataMode>(root, "structuredMetadata") is not { } metadata)
        {
            return "lineFormat, oversizedLines or structuredMetadata names no setting";
        }

        if (!root.TryGetProperty("levelLabel", out var flag) || flag.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return "levelLabel is not true or false";
        }

        description = new StreamDescription
        {
            From = from,
            Labels = set,
            LevelLabel = flag.GetBoolean(),
            LabelProperties = properties,
            MetadataProperties = metadataProperties,
            MaxLabelValues = maxLabelValues,
            MaxStreams = maxStreams,
            LineFormat = lineFormat,
            MaxLineBytes = maxLineBytes,
            OversizedLines = oversized,
            StructuredMetadata = metadata,
        };
        return null;
    }

    /// <summary>The names in the array <paramref name="key"/> (none when absent); null when it is not an array of at most <see cref="MaxLabels"/> strings.</summary>
    private static List<string>? Names(JsonElement root, string key)
    {
        var names = new List<string>();
        if (!root.TryGetProperty(key, out var list))
        {
            return names;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > MaxLabels)
        {
            return null;
        }

        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            if (item.GetString() is { Length: > 0 } name)
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>A cap between 1 and 100,000 (the default when absent); null when out of range or not a number.</summary>
    private static int? Cap(JsonElement root, string key, int absent) =>
        !root.TryGetProperty(key, out var value) ? absent
        : value.TryGetInt32(out var cap) && cap is >= 1 and <= MaxCap ? cap
        : null;

    /// <summary>The largest label cardinality cap.</summary>
    public const int MaxCap = 100_000;

    private static bool TryParsePosition(string text, out WalPosition position)
    {
        position = WalPosition.Start;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !long.TryParse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var segment)
            || !long.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        position = new WalPosition(segment, offset);
        return true;
    }

    /// <summary>An enum setting by its name only: a number or an unknown name is no setting.</summary>
    private static T? Setting<T>(JsonElement root, string name)
        where T : struct, Enum =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            && value.GetString() is { Length: > 0 } text && char.IsAsciiLetter(text[0])
            && Enum.TryParse<T>(text, ignoreCase: false, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : null;
}
