using System.Text;
using LogPersist.Entries;
using LogPersist.Pipeline;

namespace LogPersist.Cli.Run;

/// <summary>
/// Turns the lines of one of the child's streams into WAL entries. The category names the stream
/// (<c>stdout</c> or <c>stderr</c>); a plain line is an Information entry whose message is the line;
/// a JSON object line keeps its message, level and fields (<see cref="JsonLine"/>); the pieces of an
/// over-long line carry <c>part</c> (1, 2, …) and, on the last, <c>last_part</c>. One instance per
/// stream, called from one thread.
/// </summary>
internal sealed class LineRecorder
{
    public const string StdoutCategory = "stdout";
    public const string StderrCategory = "stderr";

    // Invalid UTF-8 becomes U+FFFD, never an exception.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly LogPipeline _pipeline;
    private readonly string _category;
    private readonly byte[] _categoryUtf8;
    private readonly EntryEncoder _encoder;
    private long _lastTimestampNs;

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

    /// <summary>The level of a plain line when a rule knows it from the line's own format; Information otherwise.</summary>
    public LineLevelRule? LevelRule { get; set; }

    /// <summary>Entries appended to the WAL.</summary>
    public long Appended { get; private set; }

    /// <summary>Entries the WAL refused (disk cap, closed); counted by the WAL's own metrics too.</summary>
    public long Dropped { get; private set; }

    public void Write(ReadOnlySpan<byte> line, int part, bool lastPart)
    {
        try
        {
            // When the wrapper read the line, kept strictly increasing so Loki keeps the stream's order.
            var timestamp = Math.Max(LogEntry.NowNs(_pipeline.Time), _lastTimestampNs + 1);
            _lastTimestampNs = timestamp;
            if (part == 0 && JsonLine.TryParse(line, out var parsed))
            {
                _encoder.Begin(new EntryHeader { TimestampNs = timestamp, Level = parsed!.Level ?? EntryLevel.Information, CategoryUtf8 = _categoryUtf8, Message = parsed.Message });
                var origin = Origin is null ? 0 : 3;
                var count = _encoder.BeginProperties(parsed.Properties.Count + origin);
                WriteOrigin();
                for (var i = 0; i < count - origin; i++)
                {
                    _encoder.WriteProperty(parsed.Properties[i].Key, parsed.Properties[i].Value);
                }
            }
            else
            {
                _encoder.Begin(new EntryHeader { TimestampNs = timestamp, Level = (part <= 1 ? LevelRule?.Invoke(line) : null) ?? EntryLevel.Information, CategoryUtf8 = _categoryUtf8, Message = Utf8.GetString(line) });
                var origin = Origin is null ? 0 : 3;
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

    private void WriteOrigin()
    {
        if (Origin is { } origin)
        {
            _encoder.WriteProperty("file", origin.Name);
            _encoder.WriteProperty("file_id", origin.Id);
            _encoder.WriteProperty("file_offset", origin.EndOffset);
        }
    }
}

/// <summary>The level a line's own format gives it (a glog <c>I</c>/<c>W</c>/<c>E</c>/<c>F</c> prefix), or null.</summary>
internal delegate EntryLevel? LineLevelRule(ReadOnlySpan<byte> line);

/// <summary>Where a line read from a file came from: its name, its identity, and the offset just past its bytes.</summary>
internal readonly record struct FileOrigin(string Name, string Id, long EndOffset);
