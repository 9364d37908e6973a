using System.Diagnostics.Tracing;
using System.Globalization;
using LogPersist.Diagnostics;

namespace LogPersist;

/// <summary>
/// LogPersist's own faults (a full disk, a refused push, a damaged WAL record) as text lines, for an
/// application that wants to see them without an EventSource tool. The lines are the events of the
/// <c>LogPersist</c> EventSource (Informational and above): rate-limited to 10 per event kind and WAL
/// directory (or Loki endpoint) per minute, with a later line saying how many similar ones were
/// suppressed. Never write them to a logger that LogPersist itself feeds: a failing WAL would then be
/// asked to log its own failure. Process-wide, like the EventSource.
/// </summary>
public static class LogPersistSelfLog
{
    private static readonly object Gate = new();
    private static Action<string>? _output;
    private static SelfLogListener? _listener;

    [ThreadStatic]
    private static bool _writing;

    /// <summary>Sends every later LogPersist event to <paramref name="output"/> (replacing an earlier callback), e.g. <c>LogPersistSelfLog.Enable(Console.Error.WriteLine)</c>.</summary>
    /// <param name="output">Receives one line per event, possibly from any thread; exceptions it throws are ignored.</param>
    public static void Enable(Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        lock (Gate)
        {
            Volatile.Write(ref _output, output);
            _listener ??= new SelfLogListener();
        }
    }

    /// <summary>Stops sending events to the callback given to <see cref="Enable"/>.</summary>
    public static void Disable()
    {
        lock (Gate)
        {
            Volatile.Write(ref _output, null);
            _listener?.Dispose();
            _listener = null;
        }
    }

    /// <summary>One line for an event: UTC time, level, and the event's message with its values.</summary>
    internal static string Format(EventWrittenEventArgs e)
    {
        var values = e.Payload?.ToArray() ?? [];
        string text;
        try
        {
            text = e.Message is { Length: > 0 } template
                ? string.Format(CultureInfo.InvariantCulture, template, values)
                : e.EventName + " " + string.Join(", ", values);
        }
        catch (FormatException)
        {
            text = e.EventName + " " + string.Join(", ", values);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{e.TimeStamp.ToUniversalTime():yyyy-MM-ddTHH:mm:ss.fffZ} LogPersist {e.Level}: {text}");
    }

    private static void Write(EventWrittenEventArgs e)
    {
        var output = Volatile.Read(ref _output);
        if (output is null || _writing)
        {
            return;
        }

        _writing = true;
        try
        {
            output(Format(e));
        }
#pragma warning disable CA1031 // A broken callback must not become a fault of the application's log call.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            _writing = false;
        }
    }

    private sealed class SelfLogListener : EventListener
    {
        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == LogPersistEventSource.SourceName)
            {
                EnableEvents(eventSource, EventLevel.Informational);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData) => Write(eventData);
    }
}
