using System.IO.Abstractions;
using System.Text.Json;
using LogPersist.Loki;
using LogPersist.Wal;

namespace LogPersist.Shipping;

/// <summary>
/// How a WAL's entries become Loki streams and lines: the resolved static labels and the settings
/// that shape each entry. A pipeline saves it in its WAL directory when it opens, so a process that
/// ships the directory later (<c>logpersist drain</c>, an adopting instance) sends the entries under
/// the labels of the process that wrote them, not its own.
/// </summary>
internal sealed record StreamDescription
{
    public const string FileName = "stream.json";
    private const int CurrentVersion = 1;

    /// <summary>The static labels, resolved (instance label included unless turned off).</summary>
    public required LabelSet Labels { get; init; }

    public bool LevelLabel { get; init; }

    public IReadOnlyList<string> LabelProperties { get; init; } = [];

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

    /// <summary>Applies the description to a shipper's settings: its labels replace whatever the shipper would detect.</summary>
    public void ApplyTo(ShipperOptions options)
    {
        options.DetectedLabels = Labels.Labels.Select(l => new KeyValuePair<string, string?>(l.Key, l.Value)).ToArray();
        options.Labels = new Dictionary<string, string?>();
        options.InstanceLabel = true;
        options.LevelLabel = LevelLabel;
        options.LabelProperties = LabelProperties.ToArray();
        options.LineFormat = LineFormat;
        options.MaxLineBytes = MaxLineBytes;
        options.OversizedLines = OversizedLines;
        options.StructuredMetadata = StructuredMetadata;
    }

    /// <summary>Writes the description into <paramref name="directory"/> (new file, then rename), owner-only.</summary>
    public void Save(IFileSystem fileSystem, string directory)
    {
        var path = fileSystem.Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var stream = fileSystem.FileStream.New(temporary, OwnerOnly.NewFile(FileMode.Create)))
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteNumber("version", CurrentVersion);
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
            writer.WriteString("lineFormat", LineFormat.ToString());
            writer.WriteNumber("maxLineBytes", MaxLineBytes);
            writer.WriteString("oversizedLines", OversizedLines.ToString());
            writer.WriteString("structuredMetadata", StructuredMetadata.ToString());
            if (MetadataDecision is { } decision)
            {
                writer.WriteBoolean("sendsStructuredMetadata", decision);
            }

            writer.WriteEndObject();
            // Not synced: it is rewritten at every start, and a reader falls back to the path's labels
            // if a power loss left it empty; a device sync here would delay the first log call.
            writer.Flush();
        }

        fileSystem.File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Records the shipper's structured-metadata decision in the description saved in <paramref name="directory"/>;
    /// a directory without a readable description keeps none (its shipper decides again after a restart).
    /// </summary>
    public static void SaveMetadataDecision(IFileSystem fileSystem, string directory, bool send)
    {
        try
        {
            if (TryLoad(fileSystem, directory, out var description, out _) && description.MetadataDecision != send)
            {
                (description with { MetadataDecision = send }).Save(fileSystem, directory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Diagnostics.LogPersistEventSource.Log.OperationFailed(directory, "saving the structured metadata decision", e);
        }
    }

    /// <summary>
    /// Reads the description saved in <paramref name="directory"/>. False when there is none;
    /// <paramref name="error"/> says why when a file exists but cannot be used.
    /// </summary>
    public static bool TryLoad(IFileSystem fileSystem, string directory, out StreamDescription description, out string? error)
    {
        description = null!;
        error = null;
        var path = fileSystem.Path.Combine(directory, FileName);
        if (!fileSystem.File.Exists(path))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(fileSystem.File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.GetProperty("version").GetInt32() != CurrentVersion)
            {
                error = $"'{path}' has version {root.GetProperty("version").GetInt32()}; this version reads {CurrentVersion}.";
                return false;
            }

            description = new StreamDescription
            {
                Labels = LabelSet.Create(root.GetProperty("labels").EnumerateObject().Select(p => new KeyValuePair<string, string?>(p.Name, p.Value.GetString()))),
                LevelLabel = root.GetProperty("levelLabel").GetBoolean(),
                LabelProperties = root.GetProperty("labelProperties").EnumerateArray().Select(e => e.GetString() ?? "").Where(s => s.Length > 0).ToArray(),
                LineFormat = Enum.Parse<LineFormat>(root.GetProperty("lineFormat").GetString()!),
                MaxLineBytes = root.GetProperty("maxLineBytes").GetInt32(),
                OversizedLines = Enum.Parse<OversizedLineMode>(root.GetProperty("oversizedLines").GetString()!),
                StructuredMetadata = Enum.Parse<StructuredMetadataMode>(root.GetProperty("structuredMetadata").GetString()!),
                MetadataDecision = root.TryGetProperty("sendsStructuredMetadata", out var decision) ? decision.GetBoolean() : null,
            };
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            error = $"'{path}' is unreadable: {e.Message}";
            return false;
        }
    }
}
