using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Diagnostics;

public sealed class LogPersistEventSourceTests
{
    [Fact]
    public void Drops_and_failed_segment_creation_are_reported_as_events()
    {
        using var dir = new TempDirectory();
        using var listener = new Listener();
        var fileSystem = new FaultyFileSystem();
        var full = false;
        fileSystem.Fault = path => full && path.EndsWith(".wal.tmp", StringComparison.Ordinal) ? FaultyFileSystem.NoSpace(path) : null;
        using (var wal = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = 8192, FullMode = WalFullMode.DropNewest, FileSystem = fileSystem, RetryDelay = TimeSpan.FromHours(1) }))
        {
            full = true;
            for (var i = 0; i < 200; i++)
            {
                wal.Append(Wals.Payload(i, 100));
            }
        }

        var events = listener.Events.Where(e => e.Payload?[0] as string == dir.Path).ToList();
        Assert.Contains(events, e => e.EventName == "SegmentCreateFailed" && ((string)e.Payload![2]!).Contains("No space", StringComparison.Ordinal));
        Assert.Contains(events, e => e.EventName == "RecordsDropped" && (string?)e.Payload![1] == "no_space");
    }

    private sealed class Listener : EventListener
    {
        public ConcurrentQueue<EventWrittenEventArgs> Events { get; } = new();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "LogPersist")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData) => Events.Enqueue(eventData);
    }
}
