using System.Diagnostics.Tracing;

namespace LogPersist.Diagnostics;

/// <summary>
/// Faults and notable events inside LogPersist. They never go to the application's own logger
/// (that would loop back into the WAL); collect them with <c>dotnet-trace</c>, <c>dotnet-monitor</c>,
/// an <see cref="EventListener"/> on the source named <c>LogPersist</c>, or <see cref="LogPersistSelfLog"/>.
/// Each kind of event is written at most <see cref="EventRateLimiter.DefaultLimit"/> times per
/// minute for one WAL directory (or Loki endpoint); the number left out follows as <see cref="EventsSuppressed"/>.
/// </summary>
[EventSource(Name = SourceName)]
internal sealed class LogPersistEventSource : EventSource
{
    public const string SourceName = "LogPersist";

    public static readonly LogPersistEventSource Log = new();

    private readonly EventRateLimiter _limiter = new(TimeProvider.System);

    private LogPersistEventSource()
    {
    }

    [Event(1, Level = EventLevel.Informational, Message = "WAL '{0}' opened: {1} earlier segments, resuming at segment {2}, first new segment {3}")]
    public void WalOpened(string directory, int earlierSegments, long checkpointSegment, long firstSegment)
    {
        if (Admit(1, directory))
        {
            WriteEvent(1, directory, earlierSegments, checkpointSegment, firstSegment);
        }
    }

    [Event(2, Level = EventLevel.Informational, Message = "WAL '{0}' recovery scanned {1} segments: {2} records to ship, {3} damaged ranges ({4} bytes), {5} damaged segment headers, in {6} ms")]
    public void RecoveryCompleted(string directory, int segments, long records, long damagedRanges, long damagedBytes, int damagedHeaders, double milliseconds)
    {
        if (Admit(2, directory))
        {
            WriteEvent(2, directory, segments, records, damagedRanges, damagedBytes, damagedHeaders, milliseconds);
        }
    }

    [Event(3, Level = EventLevel.Warning, Message = "WAL '{0}': skipped {4} damaged range at segment {1} offset {2}, {3} bytes")]
    public void DamagedRangeSkipped(string directory, long segment, long offset, long length, string kind)
    {
        if (Admit(3, directory))
        {
            WriteEvent(3, directory, segment, offset, length, kind);
        }
    }

    [Event(4, Level = EventLevel.Warning, Message = "WAL '{0}': dropped {2} records ({1})")]
    public void RecordsDropped(string directory, string reason, long records)
    {
        if (Admit(4, directory))
        {
            WriteEvent(4, directory, reason, records);
        }
    }

    [Event(5, Level = EventLevel.Error, Message = "WAL '{0}': could not create segment {1}: {2}")]
    public void SegmentCreateFailed(string directory, long sequence, string error)
    {
        if (Admit(5, directory))
        {
            WriteEvent(5, directory, sequence, error);
        }
    }

    [Event(6, Level = EventLevel.Warning, Message = "Checkpoint '{0}' is unreadable or damaged; shipping restarts from the oldest segment. {1}")]
    public void CheckpointInvalid(string path, string error)
    {
        if (Admit(6, path))
        {
            WriteEvent(6, path, error);
        }
    }

    [Event(7, Level = EventLevel.Error, Message = "WAL '{0}': {1} failed: {2}")]
    public void OperationFailed(string directory, string operation, string error)
    {
        if (Admit(7, directory))
        {
            WriteEvent(7, directory, operation, error);
        }
    }

    [Event(8, Level = EventLevel.Warning, Message = "Push to {0}: attempt {1} failed ({2}); retrying in {3} ms")]
    public void PushRetry(string endpoint, int attempt, string reason, double delayMilliseconds)
    {
        if (Admit(8, endpoint))
        {
            WriteEvent(8, endpoint, attempt, reason, delayMilliseconds);
        }
    }

    [Event(9, Level = EventLevel.Warning, Message = "Loki at {0} refused {1} entries ({2}); last reason: {3}")]
    public void EntriesRefused(string endpoint, int entries, string reasons, string lastReason)
    {
        if (Admit(9, endpoint))
        {
            WriteEvent(9, endpoint, entries, reasons, lastReason);
        }
    }

    [Event(10, Level = EventLevel.Error, Message = "Loki at {0} refuses requests as misconfigured (HTTP {1}: {2}); entries stay in the WAL and are retried")]
    public void PushMisconfigured(string endpoint, int status, string reason)
    {
        if (Admit(10, endpoint))
        {
            WriteEvent(10, endpoint, status, reason);
        }
    }

    [Event(11, Level = EventLevel.Warning, Message = "WAL '{0}': record at {1} is not a readable entry and was skipped")]
    public void UndecodableRecord(string directory, string position)
    {
        if (Admit(11, directory))
        {
            WriteEvent(11, directory, position);
        }
    }

    [Event(12, Level = EventLevel.Informational, Message = "Loki at {0} disallows structured metadata; metadata is folded into lines from now on")]
    public void MetadataFolded(string endpoint)
    {
        if (Admit(12, endpoint))
        {
            WriteEvent(12, endpoint);
        }
    }

    [Event(13, Level = EventLevel.Error, Message = "WAL '{0}': shipper fault: {1}")]
    public void ShipperFault(string directory, string error)
    {
        if (Admit(13, directory))
        {
            WriteEvent(13, directory, error);
        }
    }

    [Event(14, Level = EventLevel.Informational, Message = "LogPersist writes to '{0}' (root: {1}); shipping to {2}")]
    public void PipelineStarted(string directory, string rootSource, string destination)
    {
        if (Admit(14, directory))
        {
            WriteEvent(14, directory, rootSource, destination);
        }
    }

    [Event(15, Level = EventLevel.Error, Message = "A log entry from '{0}' could not be written: {1}")]
    public void EntryFailed(string category, string error)
    {
        if (Admit(15, category))
        {
            WriteEvent(15, category, error);
        }
    }

    [Event(16, Level = EventLevel.Warning, Message = "{2} more events like event {0} ({1}) were suppressed in the last minute")]
    public void EventsSuppressed(int eventId, string scope, long count) => WriteEvent(16, eventId, scope, count);

    [Event(17, Level = EventLevel.Error, Message = "WAL '{0}' was taken by another holder: {1}. This process no longer writes there.")]
    public void WalFenced(string directory, string reason)
    {
        if (Admit(17, directory))
        {
            WriteEvent(17, directory, reason);
        }
    }

    [Event(18, Level = EventLevel.Informational, Message = "Adopting the WAL of gone instance '{0}': claimed epoch {2} and moved it to '{1}'")]
    public void OrphanClaimed(string directory, string adoptedDirectory, long epoch)
    {
        if (Admit(18, directory))
        {
            WriteEvent(18, directory, adoptedDirectory, epoch);
        }
    }

    [Event(19, Level = EventLevel.Informational, Message = "The WAL of '{0}' is adopted by another instance: {1}")]
    public void OrphanTakenByOther(string directory, string claim)
    {
        if (Admit(19, directory))
        {
            WriteEvent(19, directory, claim);
        }
    }

    [Event(20, Level = EventLevel.Informational, Message = "Adopted WAL '{0}' is shipped and deleted: {1} entries in {2} ms")]
    public void OrphanShipped(string directory, long entries, double milliseconds)
    {
        if (Admit(20, directory))
        {
            WriteEvent(20, directory, entries, milliseconds);
        }
    }

    [Event(21, Level = EventLevel.Warning, Message = "Adoption of WAL '{0}' is left for later: {1}")]
    public void AdoptionDeferred(string directory, string reason)
    {
        if (Admit(21, directory))
        {
            WriteEvent(21, directory, reason);
        }
    }

    [Event(22, Level = EventLevel.Informational, Message = "WAL '{0}' is on a {2} file system ({1}); durability {3}: {4}")]
    public void VolumeDetected(string directory, string fileSystemType, string kind, string durability, string note)
    {
        if (Admit(22, directory))
        {
            WriteEvent(22, directory, fileSystemType, kind, durability, note);
        }
    }

    [Event(23, Level = EventLevel.Warning, Message = "WAL '{0}' was opened over an owner record that still said live ({1}): normal after a crash and a move to another node; should that holder still run, it stops writing there at its next heartbeat")]
    public void DirectoryTakenOver(string directory, string previousHolder)
    {
        if (Admit(23, directory))
        {
            WriteEvent(23, directory, previousHolder);
        }
    }

    [Event(24, Level = EventLevel.Warning, Message = "WAL '{0}' is on a network file system ({1}) with Durability PageCache: a node loss loses what had not reached the file server (up to about 30 s), and adopters on other nodes see entries only once written back. Durability Interval is recommended there.")]
    public void UnsyncedNetworkVolume(string directory, string fileSystemType)
    {
        if (Admit(24, directory))
        {
            WriteEvent(24, directory, fileSystemType);
        }
    }

    /// <summary>Whether an event may be written now; reports the events suppressed in intervals that are over.</summary>
    [Event(25, Level = EventLevel.Warning, Message = "Loki at {0} stores nothing (HTTP {1}: {2}); entries stay in the WAL and are sent again at {3}")]
    public void PushBlocked(string endpoint, int status, string reason, string retryAt)
    {
        if (Admit(25, endpoint))
        {
            WriteEvent(25, endpoint, status, reason, retryAt);
        }
    }

    [Event(26, Level = EventLevel.Error, Message = "Loki at {0} refuses every entry of stream {1} because of its labels: {2}")]
    public void StreamRefused(string endpoint, string stream, string reason)
    {
        if (Admit(26, endpoint))
        {
            WriteEvent(26, endpoint, stream, reason);
        }
    }

    [Event(27, Level = EventLevel.Warning, Message = "Shipper for '{0}' cannot ask {1} which Loki it is ({2}); asking again in {3} ms before shipping")]
    public void BuildInfoUnanswered(string directory, string uri, string problem, double delayMilliseconds)
    {
        if (Admit(27, directory))
        {
            WriteEvent(27, directory, uri, problem, delayMilliseconds);
        }
    }

    [Event(28, Level = EventLevel.Warning, Message = "WAL '{0}': streams may carry at most {1} labels (MaxLabelNames; Loki refuses streams with more); left out: {2}")]
    public void LabelsOverLimit(string directory, int limit, string dropped)
    {
        if (Admit(28, directory))
        {
            WriteEvent(28, directory, limit, dropped);
        }
    }

    // 29 is left for the entry encoder's budget.
    [Event(30, Level = EventLevel.Error, Message = "WAL '{0}': {1}")]
    public void NewerFormatKept(string directory, string what)
    {
        if (Admit(30, directory))
        {
            WriteEvent(30, directory, what);
        }
    }

    [Event(31, Level = EventLevel.Warning, Message = "'{0}' on the volume was not trusted as it was: {1}")]
    public void UntrustedFile(string path, string reason)
    {
        if (Admit(31, path))
        {
            WriteEvent(31, path, reason);
        }
    }

    [Event(32, Level = EventLevel.Warning, Message = "WAL directory '{0}' was shipped and emptied of LogPersist's files but kept: it holds {1} entries LogPersist did not write ({2})")]
    public void DirectoryKept(string directory, int entries, string names)
    {
        if (Admit(32, directory))
        {
            WriteEvent(32, directory, entries, names);
        }
    }

    [Event(33, Level = EventLevel.Error, Message = "WAL '{0}': new settings were not applied and the running ones stay: {1}")]
    public void SettingsRejected(string directory, string problems)
    {
        if (Admit(33, directory))
        {
            WriteEvent(33, directory, problems);
        }
    }

    [Event(34, Level = EventLevel.Warning, Message = "WAL '{0}': {1} changed while running; restart to apply (the running value stays until then)")]
    public void RestartNeeded(string directory, string settings)
    {
        if (IsEnabled())
        {
            WriteEvent(34, directory, settings);
        }
    }

    [Event(35, Level = EventLevel.Informational, Message = "WAL '{0}': applied while running: {1}")]
    public void SettingsApplied(string directory, string settings)
    {
        if (IsEnabled())
        {
            WriteEvent(35, directory, settings);
        }
    }

    [Event(36, Level = EventLevel.Warning, Message = "WAL '{0}': label {1} reached its cardinality cap; further values go to the overflow value __overflow__ (the real value stays in the line) for up to an hour. Choose labels with few values (MaxLabelValues, MaxStreams)")]
    public void LabelOverflow(string directory, string label)
    {
        if (IsEnabled())
        {
            WriteEvent(36, directory, label);
        }
    }

    [Event(37, Level = EventLevel.Warning, Message = "Loki at {0} keeps refusing stream {1} ({3}); its {2} entries go to the WAL's tail and are sent again later, while the other streams ship on")]
    public void StreamHeld(string endpoint, string stream, int entries, string reason)
    {
        if (Admit(37, endpoint))
        {
            WriteEvent(37, endpoint, stream, entries, reason);
        }
    }

    [Event(38, Level = EventLevel.Warning, Message = "Loki at {0} refused stream {1} for its rate ({3}); from now on it is {2}")]
    public void StreamOverRate(string endpoint, string stream, string action, string reason)
    {
        if (Admit(38, endpoint + " " + stream))
        {
            WriteEvent(38, endpoint, stream, action, reason);
        }
    }

    [Event(39, Level = EventLevel.Warning, Message = "Adoption in '{0}' cannot ask {1} whether an owner is gone ({2}); until it can, an owner is taken for gone only when its record has not changed for the lease")]
    public void LivenessUnavailable(string serviceDirectory, string source, string problem)
    {
        if (Admit(39, serviceDirectory))
        {
            WriteEvent(39, serviceDirectory, source, problem);
        }
    }

    [NonEvent]
    private bool Admit(int eventId, string? scope)
    {
        if (!IsEnabled())
        {
            return false;
        }

        var admitted = _limiter.TryAdmit(eventId, scope, out var ended);
        foreach (var suppressed in ended)
        {
            EventsSuppressed(suppressed.EventId, suppressed.Scope, suppressed.Count);
        }

        return admitted;
    }

    [NonEvent]
    public void CheckpointInvalid(string path, Exception? error = null)
    {
        if (IsEnabled())
        {
            CheckpointInvalid(path, error?.Message ?? "bad checksum or format");
        }
    }

    [NonEvent]
    public void SegmentCreateFailed(string directory, long sequence, Exception error)
    {
        if (IsEnabled())
        {
            SegmentCreateFailed(directory, sequence, error.Message);
        }
    }

    [NonEvent]
    public void OperationFailed(string directory, string operation, Exception error)
    {
        if (IsEnabled())
        {
            OperationFailed(directory, operation, error.GetType().Name + ": " + error.Message);
        }
    }
}
