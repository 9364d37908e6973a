using System.Diagnostics;
using System.Text;
using LogPersist.Entries;
using LogPersist.Pipeline;
using Microsoft.Extensions.Logging;
#if NET9_0_OR_GREATER
using Microsoft.Extensions.Logging.Abstractions;
#endif

namespace LogPersist.Extensions.Logging;

/// <summary>
/// Encodes each log call straight into the WAL: the message template, each property, event id,
/// scopes, exception and the current activity's trace and span id. The message is rendered later,
/// when the line is made, unless the template formats or aligns a value (then it is rendered here).
/// </summary>
/// <remarks>
/// On .NET 9 and later it is also an <c>IBufferedLogger</c>: a log buffer (Microsoft.Extensions.Telemetry's
/// global or per-request buffering) that flushes hands over its records whole, and each keeps the time
/// it was logged at, its level, event id, exception, trace and properties. The net8.0 build is made
/// against the 8.0 abstractions, which have no such interface: there a flushed buffer's records arrive
/// through <see cref="Log"/> and carry the time of the flush.
/// </remarks>
internal sealed class LogPersistLogger : ILogger
#if NET9_0_OR_GREATER
    , IBufferedLogger
#endif
{
    private readonly string _category;
    private readonly byte[] _categoryUtf8;
    private readonly LogPersistLoggerProvider _provider;
    private readonly LogPipeline _pipeline;

    public LogPersistLogger(string category, LogPersistLoggerProvider provider)
    {
        _category = category;
        _categoryUtf8 = Encoding.UTF8.GetBytes(category);
        _provider = provider;
        _pipeline = provider.Pipeline;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull =>
        _provider.Scopes?.Push(state);

    public bool IsEnabled(LogLevel logLevel) =>
        logLevel is >= LogLevel.Trace and <= LogLevel.Critical && (int)logLevel >= (int)_pipeline.MinimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var encoder = ThreadEncoders.Rent(_pipeline.EntryLimits);
        try
        {
            encoder.UseStrings(_pipeline.Wal.Strings);
            var timestamp = LogEntry.NowNs(_pipeline.Time);
            Span<byte> trace = stackalloc byte[EntryEncoder.TraceBytes];
            if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
            {
                activity.TraceId.CopyTo(trace[..16]);
                activity.SpanId.CopyTo(trace[16..]);
            }
            else
            {
                trace = default;
            }

            var header = new EntryHeader
            {
                TimestampNs = timestamp,
                Level = (EntryLevel)logLevel,
                CategoryUtf8 = _categoryUtf8,
                Category = _category,
                EventId = eventId.Id,
                EventName = eventId.Name,
                Exception = exception is null ? null : EntryEncoder.SafeToString(exception),
                Trace = trace,
            };
            // Cast at each use rather than once into a local: for a struct state (what LoggerMessage
            // generates) the JIT then calls the interface on the value without boxing it.
            if (state is IReadOnlyList<KeyValuePair<string, object?>>)
            {
                var count = ((IReadOnlyList<KeyValuePair<string, object?>>)state).Count;
                var templateAt = TemplateIndex(state, count);
                var template = templateAt >= 0 ? ((IReadOnlyList<KeyValuePair<string, object?>>)state)[templateAt].Value as string : null;
                var message = template is null || NeedsRendering(template) ? formatter?.Invoke(state, exception) : null;
                encoder.Begin(header with { Message = message, Template = template });
                var properties = encoder.BeginProperties(templateAt >= 0 ? count - 1 : count);
                for (var i = 0; properties > 0; i++)
                {
                    if (i != templateAt)
                    {
                        var pair = ((IReadOnlyList<KeyValuePair<string, object?>>)state)[i];
                        encoder.WriteProperty(pair.Key, pair.Value);
                        properties--;
                    }
                }
            }
            else
            {
                var message = formatter is null ? EntryEncoder.SafeToString(state) : formatter(state, exception);
                encoder.Begin(header with { Message = message });
                encoder.BeginProperties(0);
            }

            encoder.BeginScopes();
            _provider.Scopes?.ForEachScope(static (scope, e) => e.WriteScope(scope), encoder);
            _pipeline.Append(encoder);
        }
        catch (Exception e)
        {
            _pipeline.EntryFailed(_category, e);
        }
        finally
        {
            ThreadEncoders.Return(encoder);
        }
    }

#if NET9_0_OR_GREATER
    /// <summary>
    /// Appends the records of a flushed log buffer, in their order, each with the time it was logged
    /// at. The records belong to the buffer again once this returns: nothing of them is kept.
    /// </summary>
    public void LogRecords(IEnumerable<BufferedLogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var encoder = ThreadEncoders.Rent(_pipeline.EntryLimits);
        try
        {
            foreach (var record in records)
            {
                try
                {
                    Append(encoder, record);
                }
                catch (Exception e)
                {
                    _pipeline.EntryFailed(_category, e);
                }
            }
        }
        finally
        {
            ThreadEncoders.Return(encoder);
        }
    }

    private void Append(EntryEncoder encoder, BufferedLogRecord record)
    {
        if (!IsEnabled(record.LogLevel))
        {
            return;
        }

        var trace = EntryEncoder.Trace(record.ActivityTraceId, record.ActivitySpanId, stackalloc byte[EntryEncoder.TraceBytes]);
        var attributes = record.Attributes;
        var templateAt = -1;
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Key == EntryEncoder.OriginalFormat)
            {
                templateAt = i;
                break;
            }
        }

        var template = record.MessageTemplate ?? (templateAt >= 0 ? attributes[templateAt].Value as string : null);
        encoder.UseStrings(_pipeline.Wal.Strings);
        encoder.Begin(new EntryHeader
        {
            TimestampNs = (record.Timestamp.ToUniversalTime() - DateTimeOffset.UnixEpoch).Ticks * 100,
            Level = (EntryLevel)record.LogLevel,
            CategoryUtf8 = _categoryUtf8,
            Category = _category,
            EventId = record.EventId.Id,
            EventName = record.EventId.Name,
            // The buffer writes an empty text for a record without one.
            Exception = string.IsNullOrEmpty(record.Exception) ? null : record.Exception,
            Trace = trace,
            // The buffer keeps the rendered message: it is the one the application saw.
            Message = template is null || NeedsRendering(template) ? record.FormattedMessage : null,
            Template = template,
        });
        var properties = encoder.BeginProperties(templateAt >= 0 ? attributes.Count - 1 : attributes.Count);
        for (var i = 0; properties > 0; i++)
        {
            if (i != templateAt)
            {
                encoder.WriteProperty(attributes[i].Key, attributes[i].Value);
                properties--;
            }
        }

        // Scopes are those of the thread that logged, gone by the time of the flush.
        encoder.BeginScopes();
        _pipeline.Append(encoder);
    }
#endif

    /// <summary>Where the state keeps its template: last for the framework's states, searched otherwise; -1 when absent.</summary>
    private static int TemplateIndex<TState>(TState state, int count)
    {
        if (count > 0 && ((IReadOnlyList<KeyValuePair<string, object?>>)state!)[count - 1].Key == EntryEncoder.OriginalFormat)
        {
            return count - 1;
        }

        for (var i = 0; i < count - 1; i++)
        {
            if (((IReadOnlyList<KeyValuePair<string, object?>>)state!)[i].Key == EntryEncoder.OriginalFormat)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>True when a hole has an alignment or a format (<c>{Elapsed:0.0}</c>), which the line maker does not apply.</summary>
    internal static bool NeedsRendering(string template)
    {
        var text = template.AsSpan();
        if (text.IndexOfAny(':', ',') < 0)
        {
            return false;
        }

        var open = -1;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '{' when open < 0 && i + 1 < text.Length && text[i + 1] == '{':
                    i++;
                    break;
                case '{':
                    open = i;
                    break;
                case '}' when open >= 0:
                    open = -1;
                    break;
                case ':' or ',' when open >= 0:
                    return true;
            }
        }

        return false;
    }
}
