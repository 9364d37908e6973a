using System.Diagnostics.Tracing;
using System.Globalization;
using System.Threading.Channels;
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
    /// <param name="output">Receives one line per event, on a background thread, in order; exceptions it throws are ignored. If it falls more than 1,024 lines behind, later lines are dropped and counted in a line of their own.</param>
    /// <remarks>
    /// The lines come from the EventSource, which Native AOT applications turn off unless they set
    /// <c>&lt;EventSourceSupport&gt;true&lt;/EventSourceSupport&gt;</c>. When it is off, the first line
    /// says so instead of the self-log staying silent.
    /// </remarks>
    public static void Enable(Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        lock (Gate)
        {
            Volatile.Write(ref _output, output);
            StartPump();
            var source = LogPersistEventSource.Log;
            _listener ??= new SelfLogListener();
            if (!source.IsEnabled())
            {
                Enqueue(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} LogPersist Warning: EventSource is turned off in this application (EventSourceSupport=false, the Native AOT default), so LogPersist's faults cannot be shown here; its meter \"LogPersist\" still counts them. Set <EventSourceSupport>true</EventSourceSupport> in the project to see them."));
            }
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

    /// <summary>Lines waiting for the callback, which runs on a thread of its own: a slow or blocked callback never holds up a log call.</summary>
    private const int QueueCapacity = 1024;
    private static readonly Channel<string> Queue = Channel.CreateBounded<string>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private static Task? _pump;
    private static long _pending;
    private static long _dropped;

    private static void Write(EventWrittenEventArgs e)
    {
        if (Volatile.Read(ref _output) is null || _writing)
        {
            return;
        }

        Enqueue(Format(e));
    }

    private static void Enqueue(string line)
    {
        if (Queue.Writer.TryWrite(line))
        {
            Interlocked.Increment(ref _pending);
        }
        else
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private static void StartPump()
    {
        _pump ??= Task.Factory.StartNew(Pump, CancellationToken.None, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
    }

    /// <summary>The callback's own thread: events raised while it runs (a callback that logs into LogPersist) are not fed back.</summary>
    private static void Pump()
    {
        _writing = true;
        while (Queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (Queue.Reader.TryRead(out var line))
            {
                var dropped = Interlocked.Exchange(ref _dropped, 0);
                if (dropped > 0)
                {
                    Deliver(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} LogPersist Warning: {dropped} self-log lines were dropped because the callback did not keep up"));
                }

                Deliver(line);
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    private static void Deliver(string line)
    {
        try
        {
            Volatile.Read(ref _output)?.Invoke(line);
        }
#pragma warning disable CA1031 // A broken callback must not become a fault of LogPersist.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Waits until every line queued so far reached the callback; for tests.</summary>
    internal static bool WaitForDelivery(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Interlocked.Read(ref _pending) > 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
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
