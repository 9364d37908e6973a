namespace LogPersist.LokiTestServer;

/// <summary>
/// The ingester: the entries the server keeps, per tenant and stream, in arrival order, each stream an
/// <see cref="IngesterStream"/> that drops duplicates and refuses entries too far behind or over its rate; a stream beyond
/// the tenant's stream limit is not created. Thread-safe; one push is applied as a whole.
/// </summary>
internal sealed class EntryStore(LokiTestServerOptions options)
{
    private static readonly KeyValuePair<string, string>[] NoMetadata = [];

    private readonly object _gate = new();
    private readonly List<StoredEntry> _entries = [];
    private readonly Dictionary<(string Tenant, string Labels), IngesterStream> _streams = [];
    private readonly Dictionary<string, int> _streamsPerTenant = new(StringComparer.Ordinal);
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

    /// <summary>
    /// Forgets every stream, as Loki's ingester does with streams idle past their chunk's flush: the entries stay
    /// stored, the tenants' stream counts start again from zero, and duplicates of earlier entries are no longer recognised.
    /// </summary>
    public void ForgetStreams()
    {
        lock (_gate)
        {
            _streams.Clear();
            _streamsPerTenant.Clear();
        }
    }

    public StoredEntry[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries];
        }
    }

    /// <summary>
    /// Pushes the streams of one request, in order, as the ingester's instance.Push does; returns each stream's result.
    /// </summary>
    public IReadOnlyList<IngesterStream.Result> Push(string tenant, IReadOnlyList<(LabelSet Labels, List<IngesterStream.Candidate> Entries)> streams)
    {
        var results = new List<IngesterStream.Result>(streams.Count);
        List<TaskCompletionSource>? ready = null;
        lock (_gate)
        {
            foreach (var (labels, entries) in streams)
            {
                if (!_streams.TryGetValue((tenant, labels.Canonical), out var stream))
                {
                    // instance.createStream: a new stream only while the tenant holds fewer than the limit.
                    var held = _streamsPerTenant.GetValueOrDefault(tenant);
                    if (options.MaxStreamsPerTenant is { } max && held >= max)
                    {
                        results.Add(IngesterStream.StreamLimited(options.Dialect, tenant, labels, entries.Count));
                        continue;
                    }

                    stream = new IngesterStream(options);
                    _streams.Add((tenant, labels.Canonical), stream);
                    _streamsPerTenant[tenant] = held + 1;
                }

                var result = stream.Push(tenant, labels, entries);
                foreach (var entry in result.Stored)
                {
                    var metadata = entry.Metadata.Count > 0 ? entry.Metadata : NoMetadata;
                    _entries.Add(new StoredEntry(tenant, labels.Canonical, labels.Map, entry.TimestampNs, entry.Line, metadata));
                }

                _duplicatesDropped += result.Duplicates;
                results.Add(result);
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

        return results;
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
}
