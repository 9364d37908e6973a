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
        _pipeline = pipeline;
        _category = category;
        _categoryUtf8 = Utf8.GetBytes(category);
        _encoder = new EntryEncoder(pipeline.EntryLimits, 4096);
    }

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
                var count = _encoder.BeginProperties(parsed.Properties.Count);
                for (var i = 0; i < count; i++)
                {
                    _encoder.WriteProperty(parsed.Properties[i].Key, parsed.Properties[i].Value);
                }
            }
            else
            {
                _encoder.Begin(new EntryHeader { TimestampNs = timestamp, Level = EntryLevel.Information, CategoryUtf8 = _categoryUtf8, Message = Utf8.GetString(line) });
                if (part == 0)
                {
                    _encoder.BeginProperties(0);
                }
                else
                {
                    _encoder.BeginProperties(lastPart ? 2 : 1);
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
}
