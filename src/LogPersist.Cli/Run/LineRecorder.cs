using System.Text;
using LogPersist.Entries;
using LogPersist.Cli.Run.Controls;
using LogPersist.Pipeline;

namespace LogPersist.Cli.Run;

/// <summary>
/// Turns the lines of one of the child's streams into WAL entries. The category names the stream
/// (<c>stdout</c>, <c>stderr</c>, or <c>file</c> for followed files); a plain line is an entry whose message
/// is the line, at the level its format gives it (<see cref="TextLevels"/>), else Information;
/// a JSON object line keeps its message, level and fields (<see cref="JsonLine"/>); the pieces of an
/// over-long line carry <c>part</c> (1, 2, …) and, on the last, <c>last_part</c>. One instance per
/// stream, called from one thread.
/// </summary>
internal sealed class LineRecorder
{
    public const string StdoutCategory = "stdout";
    public const string StderrCategory = "stderr";
    public const string FileCategory = "file";

    /// <summary>The property, and stream label, that names the component a followed file belongs to.</summary>
    public const string ComponentProperty = "component";

    // Invalid UTF-8 becomes U+FFFD, never an exception.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly LogPipeline _pipeline;
    private readonly string _category;
    private readonly byte[] _categoryUtf8;
    private readonly EntryEncoder _encoder;
    private long _lastTimestampNs;
    private EntryLevel _lineLevel;
    private bool _levelKnown;
    private bool _leavingOut;

    public LineRecorder(LogPipeline pipeline, string category)
    {
        ArgumentNullException.ThrowIfNull(category);
        _pipeline = pipeline;
        _category = category;
        _categoryUtf8 = Utf8.GetBytes(category);
        _encoder = new EntryEncoder(pipeline.EntryLimits, 4096);
    }

    /// <summary>
    /// The file the next line comes from, for lines read from files: written as the properties
    /// <c>file</c>, <c>file_id</c> and <c>file_offset</c> of each entry. Null for the child's pipes.
    /// </summary>
    public FileOrigin? Origin { get; set; }

    /// <summary>
    /// The component of a file's lines (see <see cref="Files.FileLineRules"/>), written as the property
    /// <c>component</c>, which <c>run --files</c> makes a stream label. Null for the child's pipes.
    /// </summary>
    public string? Component { get; init; }

    /// <summary>Entries appended to the WAL.</summary>
    public long Appended { get; private set; }

    /// <summary>Entries the WAL refused (disk cap, closed); counted by the WAL's own metrics too.</summary>
    public long Dropped { get; private set; }

    /// <summary>
    /// Drops, redacts and samples lines before they are recorded (<c>--drop</c>, <c>--redact</c>,
    /// <c>--sample</c>, <c>--config</c>), and leaves out those of a known level below the pipeline's
    /// <see cref="LogPipeline.MinimumLevel"/>; null records every line as it is.
    /// </summary>
    public LineFilter? Filter { get; init; }

    public void Write(ReadOnlySpan<byte> line, int part, bool lastPart)
    {
        try
        {
            JsonLine.Parsed? parsed = null;
            var isJson = false;
            if (Filter?.Controls is { IsEmpty: false } controls)
            {
                if (!Controlled(controls, ref line, part, lastPart, out isJson, out parsed))
                {
                    return;
                }
            }
            else if (Filter is not null)
            {
                if (!Reaches(line, part, lastPart, out isJson, out parsed))
                {
                    return;
                }
            }
            else
            {
                isJson = part == 0 && JsonLine.TryParse(line, out parsed);
            }

            // When the wrapper read the line, kept strictly increasing so Loki keeps the stream's order.
            var timestamp = Math.Max(LogEntry.NowNs(_pipeline.Time), _lastTimestampNs + 1);
            _lastTimestampNs = timestamp;
            var origin = (Origin is null ? 0 : 3) + (Component is null ? 0 : 1);
            _encoder.UseStrings(_pipeline.Wal.Strings);
            if (isJson)
            {
                _encoder.Begin(new EntryHeader { TimestampNs = timestamp, Level = parsed!.Level ?? EntryLevel.Information, CategoryUtf8 = _categoryUtf8, Category = _category, Message = parsed.Message });
                var count = _encoder.BeginProperties(parsed.Properties.Count + origin);
                WriteOrigin();
                for (var i = 0; i < count - origin; i++)
                {
                    _encoder.WriteProperty(parsed.Properties[i].Key, parsed.Properties[i].Value);
                }
            }
            else
            {
                // A line's pieces all have the level its start gives it.
                if (part <= 1 && !_levelKnown)
                {
                    _lineLevel = TextLevels.Of(line) ?? EntryLevel.Information;
                }

                _levelKnown = false;

                _encoder.Begin(new EntryHeader { TimestampNs = timestamp, Level = _lineLevel, CategoryUtf8 = _categoryUtf8, Category = _category, Message = Utf8.GetString(line) });
                if (part == 0)
                {
                    _encoder.BeginProperties(origin);
                    WriteOrigin();
                }
                else
                {
                    _encoder.BeginProperties((lastPart ? 2 : 1) + origin);
                    WriteOrigin();
                    _encoder.WriteProperty("part", part);
                    if (lastPart)
                    {
                        _encoder.WriteProperty("last_part", true);
                    }
                }
            }

            _encoder.BeginScopes();
            if (_pipeline.Append(_encoder))
            {
                Appended++;
            }
            else
            {
                Dropped++;
            }
        }
        catch (Exception e)
        {
            _pipeline.EntryFailed(_category, e);
        }
    }

    /// <summary>
    /// Applies the controls to one line or piece: false when it is not to be recorded (dropped or
    /// sampled out; the pieces after a left-out first piece go with it). Otherwise
    /// <paramref name="line"/> is what remains after the redactions, parsed when it is a JSON line,
    /// and the level it was sampled at is the one recorded.
    /// </summary>
    private bool Controlled(LineControls controls, ref ReadOnlySpan<byte> line, int part, bool lastPart, out bool isJson, out JsonLine.Parsed? parsed)
    {
        isJson = false;
        parsed = null;
        if (part > 1 && _leavingOut)
        {
            _leavingOut = !lastPart;
            return false;
        }

        var text = Utf8.GetString(line);
        if (part <= 1 && Filter!.Drops(controls, text))
        {
            _leavingOut = part == 1;
            return false;
        }

        if (controls.Redactions.Count > 0)
        {
            var redacted = Filter!.Redact(controls, text);
            if (!ReferenceEquals(redacted, text))
            {
                line = Utf8.GetBytes(redacted);
            }

            text = redacted;
        }

        if (part > 1)
        {
            return true;
        }

        isJson = part == 0 && JsonLine.TryParse(line, out parsed);
        var known = isJson ? parsed!.Level : LineFilter.PatternLevel(controls, text) ?? TextLevels.Of(line);
        var level = known ?? EntryLevel.Information;
        if (!Filter!.Reaches(known, _pipeline.MinimumLevel) || !Filter.Keeps(controls, level))
        {
            _leavingOut = part == 1;
            return false;
        }

        _lineLevel = level;
        _levelKnown = !isJson;
        return true;
    }

    /// <summary>
    /// With no controls, only the minimum level: false when the line (a first piece takes the pieces
    /// after it along) is of a known level below it. Otherwise the line is parsed when it is a JSON
    /// line, and a text line's level is the one recorded.
    /// </summary>
    private bool Reaches(ReadOnlySpan<byte> line, int part, bool lastPart, out bool isJson, out JsonLine.Parsed? parsed)
    {
        parsed = null;
        isJson = part == 0 && JsonLine.TryParse(line, out parsed);
        if (part > 1)
        {
            if (_leavingOut)
            {
                _leavingOut = !lastPart;
                return false;
            }

            return true;
        }

        var known = isJson ? parsed!.Level : TextLevels.Of(line);
        if (!Filter!.Reaches(known, _pipeline.MinimumLevel))
        {
            _leavingOut = part == 1;
            return false;
        }

        if (!isJson)
        {
            _lineLevel = known ?? EntryLevel.Information;
            _levelKnown = true;
        }

        return true;
    }

    private void WriteOrigin()
    {
        if (Origin is { } origin)
        {
            _encoder.WriteProperty("file", origin.Name);
            _encoder.WriteProperty("file_id", origin.Id);
            _encoder.WriteProperty("file_offset", origin.EndOffset);
        }

        if (Component is { } component)
        {
            _encoder.WriteProperty(ComponentProperty, component);
        }
    }
}

/// <summary>Where a line read from a file came from: its name, its identity, and the offset just past its bytes.</summary>
internal readonly record struct FileOrigin(string Name, string Id, long EndOffset);
