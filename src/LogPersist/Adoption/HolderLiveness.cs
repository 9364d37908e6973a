namespace LogPersist.Adoption;

/// <summary>What a liveness source says of the holder an owner record names.</summary>
internal enum HolderVerdict
{
    /// <summary>It cannot tell: the adopter applies the lease rule (the record unchanged for its lease).</summary>
    Unknown,

    /// <summary>The holder exists: its directory is not adopted, however old its record looks.</summary>
    Exists,

    /// <summary>The holder is gone for good: its directory may be claimed at once.</summary>
    Gone,
}

/// <summary>
/// A verdict, and what kept the source from answering as it should (an API that cannot be reached or
/// refuses): null while it works. A source may answer with a verdict and a problem together, when it
/// found the answer a slower way.
/// </summary>
internal readonly record struct LivenessAnswer(HolderVerdict Verdict, string? Problem = null)
{
    public static LivenessAnswer Unavailable(string problem) => new(HolderVerdict.Unknown, problem);
}

/// <summary>Who holds a WAL directory, as its owner record names it in a cluster.</summary>
internal readonly record struct HolderIdentity(string Pod, string PodUid, string? Node);

/// <summary>
/// A source other than the shared volume that knows whether the holder of an owner record still
/// exists (the Kubernetes API server). The adopter asks it before the lease rule, for records that
/// name a pod and its UID; it owns the source, starts it with itself and disposes it when it stops.
/// Implementations answer from what they watch where they can, so a scan does not cost one request
/// per directory, and never throw from <see cref="CheckAsync"/>.
/// </summary>
internal interface IHolderLiveness : IAsyncDisposable
{
    /// <summary>What events and the health check call it: "the Kubernetes API at https://10.0.0.1:443/".</summary>
    string Name { get; }

    /// <summary>Starts watching, in the background; returns at once.</summary>
    void Start();

    ValueTask<LivenessAnswer> CheckAsync(HolderIdentity holder, CancellationToken cancellationToken);
}
