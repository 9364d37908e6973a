using System.Buffers;
using System.Globalization;
using System.Text;
using LogPersist.Entries;
using LogPersist.Pipeline;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace LogPersist.Serilog;

/// <summary>
/// Writes each Serilog event into the LogPersist WAL before <see cref="Emit"/> returns. The event keeps
/// its shape: the Serilog-rendered message (strings quoted, formats applied) next to the template,
/// <c>SourceContext</c> as the category, captured properties as nested values, the exception, and the
/// trace and span id. Emit never throws; an event that cannot be encoded is counted and marked.
/// </summary>
internal sealed class LogPersistSink : ILogEventSink, IDisposable, IAsyncDisposable
{
    private const int StackCategoryBytes = 256;

    private readonly LogPipeline _pipeline;
    private IDisposable? _follower;

    /// <param name="pipeline">The pipeline events are written into; disposed with the sink.</param>
    /// <param name="follower">What applies configuration reloads to the pipeline, if anything; stopped before the pipeline closes.</param>
    public LogPersistSink(LogPipeline pipeline, IDisposable? follower = null)
    {
        _pipeline = pipeline;
        _follower = follower;
    }

    public void Emit(LogEvent logEvent)
    {
        if (logEvent is null)
        {
            return;
        }

        var level = ToEntryLevel(logEvent.Level);
        if (level < _pipeline.MinimumLevel)
        {
            return;
        }

        var category = Category(logEvent, out var categoryIsProperty);
        var encoder = ThreadEncoders.Rent(_pipeline.EntryLimits);
        try
        {
            encoder.UseStrings(_pipeline.Wal.Strings);
            Encode(encoder, logEvent, level, category, categoryIsProperty);
            _pipeline.Append(encoder);
        }
        catch (Exception e)
        {
            SelfLog.WriteLine("LogPersist could not write an event from {0}: {1}", category, e);
            _pipeline.EntryFailed(category, e);
        }
        finally
        {
            ThreadEncoders.Return(encoder);
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _follower, null)?.Dispose();
        _pipeline.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _follower, null)?.Dispose();
        return _pipeline.DisposeAsync();
    }

    private static void Encode(EntryEncoder encoder, LogEvent logEvent, EntryLevel level, string category, bool categoryIsProperty)
    {
        var trace = EntryEncoder.Trace(logEvent.TraceId, logEvent.SpanId, stackalloc byte[EntryEncoder.TraceBytes]);

        byte[]? rented = null;
        var maxCategoryBytes = Encoding.UTF8.GetMaxByteCount(category.Length);
        Span<byte> categoryUtf8 = maxCategoryBytes <= StackCategoryBytes
            ? stackalloc byte[StackCategoryBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(maxCategoryBytes));
        try
        {
            categoryUtf8 = categoryUtf8[..Encoding.UTF8.GetBytes(category, categoryUtf8)];
            encoder.Begin(new EntryHeader
            {
                TimestampNs = TimestampNs(logEvent.Timestamp),
                Level = level,
                CategoryUtf8 = categoryUtf8,
                Category = category,
                Message = RenderedMessage(logEvent),
                Template = logEvent.MessageTemplate.Text,
                Exception = ExceptionText(logEvent.Exception),
                Trace = trace,
            });
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        var count = encoder.BeginProperties(logEvent.Properties.Count - (categoryIsProperty ? 1 : 0));
        var written = 0;
        foreach (var (name, value) in logEvent.Properties)
        {
            if (written == count)
            {
                break;
            }

            if (categoryIsProperty && name == Constants.SourceContextPropertyName)
            {
                continue;
            }

            encoder.WriteProperty(name, PropertyValues.ToEntryValue(value));
            written++;
        }

        encoder.BeginScopes();
    }

    /// <summary><c>SourceContext</c> when it is a scalar (then it is not repeated as a property), else empty.</summary>
    private static string Category(LogEvent logEvent, out bool isProperty)
    {
        isProperty = logEvent.Properties.TryGetValue(Constants.SourceContextPropertyName, out var value) && value is ScalarValue;
        return isProperty ? EntryEncoder.SafeToString(((ScalarValue)value!).Value) : "";
    }

    /// <summary>
    /// The message as Serilog renders it (strings quoted, formats applied), which the later line renderer
    /// could not reproduce from the template. Null, so the template is rendered later, if rendering fails.
    /// </summary>
    private static string? RenderedMessage(LogEvent logEvent)
    {
        try
        {
            return logEvent.RenderMessage(CultureInfo.InvariantCulture);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static string? ExceptionText(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        try
        {
            return exception.ToString();
        }
        catch (Exception e)
        {
            return exception.GetType().FullName + " (its ToString threw " + e.GetType().Name + ")";
        }
    }

    private static long TimestampNs(DateTimeOffset timestamp) =>
        (timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    internal static EntryLevel ToEntryLevel(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => EntryLevel.Trace,
        LogEventLevel.Debug => EntryLevel.Debug,
        LogEventLevel.Information => EntryLevel.Information,
        LogEventLevel.Warning => EntryLevel.Warning,
        LogEventLevel.Error => EntryLevel.Error,
        _ => EntryLevel.Critical,
    };
}
