namespace LogPersist.LokiTestServer;

/// <summary>
/// The entries the server keeps, per tenant and stream, in arrival order. Thread-safe. Like Loki's ingester it
/// drops exact duplicates (same tenant, stream, timestamp and line) and refuses entries too far behind the
/// newest entry of their stream.
/// </summary>
internal sealed class EntryStore
{
    private static readonly KeyValuePair<string, string>[] NoMetadata = [];

    private readonly object _gate = new();
    private readonly List<StoredEntry> _entries = [];
    private readonly Dictionary<(string Tenant, string Labels), StreamState> _streams = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private long _duplicatesDropped;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public long DuplicatesDropped => Interlocked.Read(ref _duplicatesDropped);

    public StoredEntry[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries];
        }
    }

    /// <summary>
    /// Stores one stream's entries that passed validation. Entries too far behind are not stored and are added
    /// to <paramref name="refusals"/>; <paramref name="outOfOrderWindowNs"/> of 0 or less turns that check off.
    /// </summary>
    public void Append(string tenant, LabelSet labels, IEnumerable<Candidate> candidates, long outOfOrderWindowNs, List<Refusal> refusals)
    {
        List<TaskCompletionSource>? ready = null;
        lock (_gate)
        {
            if (!_streams.TryGetValue((tenant, labels.Canonical), out var stream))
            {
                stream = new StreamState();
                _streams.Add((tenant, labels.Canonical), stream);
            }

            foreach (var candidate in candidates)
            {
                // A resend of a stored entry is not an error, even when it is old by now.
                if (!stream.Seen.Add((candidate.TimestampNs, candidate.Line)))
                {
                    _duplicatesDropped++;
                    continue;
                }

                if (outOfOrderWindowNs > 0 && stream.HasEntries && candidate.TimestampNs < SaturatingSubtract(stream.HighestNs, outOfOrderWindowNs))
                {
                    stream.Seen.Remove((candidate.TimestampNs, candidate.Line));
                    var cutoff = SaturatingSubtract(stream.HighestNs, outOfOrderWindowNs);
                    refusals.Add(new Refusal(candidate.TimestampNs, LokiMessages.TooFarBehind(candidate.TimestampNs, cutoff), labels.Canonical));
                    continue;
                }

                stream.HighestNs = stream.HasEntries ? Math.Max(stream.HighestNs, candidate.TimestampNs) : candidate.TimestampNs;
                stream.HasEntries = true;
                var metadata = candidate.Metadata.Count == 0 ? NoMetadata : candidate.Metadata;
                _entries.Add(new StoredEntry(tenant, labels.Canonical, labels.Map, candidate.TimestampNs, candidate.Line, metadata));
            }

            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count <= _entries.Count)
                {
                    (ready ??= []).Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        if (ready is not null)
        {
            foreach (var signal in ready)
            {
                signal.TrySetResult();
            }
        }
    }

    /// <summary>True once at least <paramref name="count"/> entries are stored; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitForCountAsync(int count, TimeSpan timeout)
    {
        var waiter = (count, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            if (_entries.Count >= count)
            {
                return true;
            }

            _waiters.Add(waiter);
        }

        try
        {
            await waiter.Item2.Task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
                return _entries.Count >= count;
            }
        }
    }

    private static long SaturatingSubtract(long value, long amount) => value < long.MinValue + amount ? long.MinValue : value - amount;

    /// <summary>An entry that passed the distributor's checks.</summary>
    public readonly record struct Candidate(long TimestampNs, string Line, IReadOnlyList<KeyValuePair<string, string>> Metadata);

    private sealed class StreamState
    {
        public HashSet<(long TimestampNs, string Line)> Seen { get; } = [];

        public long HighestNs { get; set; }

        public bool HasEntries { get; set; }
    }
}
