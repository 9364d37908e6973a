using LogPersist.Diagnostics;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;

namespace LogPersist.Adoption;

/// <summary>
/// Decides whether the holder an owner record names is gone. A liveness source, where there is one,
/// decides for a record that names a pod and its UID: an existing pod is never taken for gone, a gone
/// one at once. Where there is no source, no such record, or the source cannot answer, the record must
/// have stayed unchanged for the lease (and the longer lease its holder promised, up to a bound). An
/// adopting record (an adoption in progress) whose adopter exists is judged by the lease too: the
/// adopter's pod existing does not show that it still ships that directory. A spell in which the source
/// cannot answer is reported once, and shown by <see cref="Fallback"/> until it answers again.
/// </summary>
internal sealed class GoneOwnerRule(IHolderLiveness? liveness, LeaseOptions lease, string serviceDirectory) : IAsyncDisposable
{
    private string? _problem;

    /// <summary>Whether a liveness source decides before the lease.</summary>
    public bool HasSource => liveness is not null;

    /// <summary>The source's name, or null without one.</summary>
    public string? SourceName => liveness?.Name;

    /// <summary>Why the source cannot answer now, while the lease decides in its place; null while it answers, or without one.</summary>
    public string? Fallback => Volatile.Read(ref _problem);

    public void Start() => liveness?.Start();

    /// <param name="record">The record, or null when there is none.</param>
    /// <param name="unchangedFor">How long the adopter has seen the record unchanged, on its own clock.</param>
    /// <param name="cancellationToken">Ends a question to the source.</param>
    public async ValueTask<bool> IsGoneAsync(OwnerRecord? record, TimeSpan unchangedFor, CancellationToken cancellationToken)
    {
        var leaseLapsed = unchangedFor > lease.Duration && unchangedFor > (record?.HonouredLease ?? TimeSpan.Zero);
        if (liveness is null || record is not { Pod: { } pod, PodUid: { } uid })
        {
            return leaseLapsed;
        }

        var answer = await liveness.CheckAsync(new HolderIdentity(pod, uid, record.Node), cancellationToken).ConfigureAwait(false);
        Note(answer);
        return answer.Verdict switch
        {
            HolderVerdict.Gone => true,
            HolderVerdict.Exists => record.State == OwnerState.Adopting && leaseLapsed,
            _ => leaseLapsed,
        };
    }

    private void Note(LivenessAnswer answer)
    {
        if (answer.Problem is { } problem)
        {
            if (Interlocked.Exchange(ref _problem, problem) is null)
            {
                LogPersistEventSource.Log.LivenessUnavailable(serviceDirectory, liveness!.Name, problem);
            }
        }
        else if (answer.Verdict != HolderVerdict.Unknown)
        {
            Volatile.Write(ref _problem, null);
        }
    }

    public ValueTask DisposeAsync() => liveness?.DisposeAsync() ?? ValueTask.CompletedTask;
}
