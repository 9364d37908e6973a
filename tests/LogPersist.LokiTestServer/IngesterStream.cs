using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// One stream in Loki's ingester (pkg/ingester/stream.go and the unordered head block of pkg/chunkenc), in its order:
/// an entry equal to the stream's last appended one is dropped silently; then an entry older than the newest one minus
/// the out-of-order window is refused ("entry too far behind"); then an entry equal to one still in the head block is
/// dropped. "Equal" is timestamp and line, and from 3.7 structured metadata too. The head block is cut, and so forgets
/// its entries, once it holds <see cref="LokiTestServerOptions.HeadBlockBytes"/>. Not thread-safe: the store locks.
/// </summary>
internal sealed class IngesterStream(LokiTestServerOptions options)
{
    private readonly HashSet<(long TimestampNs, string Line, string Metadata)> _head = [];
    private int _headBytes;
    private (long TimestampNs, string Line, string Metadata)? _last;
    private long? _highestNs;

    private LokiDialect Dialect => options.Dialect;

    /// <summary>Pushes one stream's entries that passed the distributor; returns what was stored, dropped and refused.</summary>
    public Result Push(string tenant, LabelSet labels, IReadOnlyList<Candidate> candidates)
    {
        var window = options.OutOfOrderWindow > TimeSpan.Zero ? options.OutOfOrderWindow.Ticks * 100 : 0;
        var failed = new List<(long TimestampNs, string Reason)>();
        var toStore = new List<(Candidate Entry, string Metadata)>();
        var duplicates = 0;

        // stream.validateEntries works on copies of the last line and the newest timestamp.
        var last = _last;
        var highest = _highestNs;
        foreach (var candidate in candidates)
        {
            var metadata = MetadataKey(candidate);
            if (last is { } previous && previous == (candidate.TimestampNs, candidate.Line, metadata))
            {
                duplicates++;
                continue;
            }

            if (window > 0 && highest is { } newest && candidate.TimestampNs < SaturatingSubtract(newest, window))
            {
                failed.Add((candidate.TimestampNs, LokiMessages.TooFarBehind(Dialect, candidate.TimestampNs, SaturatingSubtract(newest, window))));
                continue;
            }

            last = (candidate.TimestampNs, candidate.Line, metadata);
            highest = Math.Max(highest ?? long.MinValue, candidate.TimestampNs);
            toStore.Add((candidate, metadata));
        }

        // stream.storeEntries: the head block drops what it already holds; the stream's state moves either way.
        var stored = new List<Candidate>(toStore.Count);
        foreach (var (candidate, metadata) in toStore)
        {
            if (_head.Add((candidate.TimestampNs, candidate.Line, metadata)))
            {
                stored.Add(candidate);
                _headBytes += Encoding.UTF8.GetByteCount(candidate.Line) + (Dialect.Major >= 3 ? candidate.Metadata.Count * 8 : 0);
                if (_headBytes >= options.HeadBlockBytes)
                {
                    _head.Clear();
                    _headBytes = 0;
                }
            }
            else
            {
                duplicates++;
            }

            _last = (candidate.TimestampNs, candidate.Line, metadata);
            _highestNs = Math.Max(_highestNs ?? long.MinValue, candidate.TimestampNs);
        }

        return new Result(stored, failed.Count, duplicates, failed.Count == 0 ? null : ErrorBody(tenant, labels, failed, candidates.Count));
    }

    // errorForFailedEntries: the first MaxReturnedErrors refusals, then the total.
    private string ErrorBody(string tenant, LabelSet labels, List<(long TimestampNs, string Reason)> failed, int total)
    {
        var text = new StringBuilder();
        var listed = options.MaxReturnedStreamErrors > 0 ? Math.Min(options.MaxReturnedStreamErrors, failed.Count) : failed.Count;
        foreach (var (timestampNs, reason) in failed.Take(listed))
        {
            text.Append(LokiMessages.IgnoredEntryLine(Dialect, timestampNs, reason, labels.Canonical)).Append('\n');
        }

        return text.Append(LokiMessages.TotalIgnored(Dialect, tenant, failed.Count, total, labels.Canonical)).ToString();
    }

    // 3.7 compares structured metadata too, in the order the distributor leaves it: sorted by name.
    private string MetadataKey(Candidate candidate) =>
        Dialect.AtLeast(3, 7) && candidate.Metadata.Count > 0
            ? LabelSet.Format(candidate.Metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            : "";

    private static long SaturatingSubtract(long value, long amount) => value < long.MinValue + amount ? long.MinValue : value - amount;

    /// <summary>An entry that passed the distributor's checks.</summary>
    public readonly record struct Candidate(long TimestampNs, string Line, IReadOnlyList<KeyValuePair<string, string>> Metadata);

    /// <summary>The outcome for one stream: the entries stored, how many were refused, how many dropped as duplicates, and the error body if any was refused.</summary>
    public sealed record Result(IReadOnlyList<Candidate> Stored, int Refused, int Duplicates, string? Error);
}
