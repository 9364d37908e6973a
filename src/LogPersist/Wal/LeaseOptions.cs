namespace LogPersist.Wal;

/// <summary>
/// How the holder of a WAL directory keeps its owner record alive, and in which role it holds it.
/// Defaults live here: a heartbeat every 5 seconds and a lease of 30 seconds (six missed renewals).
/// </summary>
internal sealed class LeaseOptions
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest lease an observer honours, whatever an owner record states: a record is a file anyone
    /// able to write the volume can write, and a lease of a day must not hold a drain or an adoption for a day.
    /// </summary>
    public static readonly TimeSpan MaxHonoured = TimeSpan.FromMinutes(2);

    /// <summary>How long others must see the record unchanged before they may take this holder for gone.</summary>
    public TimeSpan Duration { get; init; } = DefaultDuration;

    /// <summary>How often the record is rewritten (and the directory checked for another holder).</summary>
    public TimeSpan Heartbeat { get; init; } = DefaultHeartbeat;

    /// <summary>Where the identity (<c>POD_NAME</c>, <c>POD_UID</c>, <c>NODE_NAME</c>) is read from.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>For an adopter: the epoch its claim won. Null for the directory's own instance.</summary>
    public long? AdoptedEpoch { get; init; }

    /// <summary>For an adopter: the instance that adopts the directory.</summary>
    public string? AdoptedBy { get; init; }

    public IEnumerable<string> Errors()
    {
        if (Heartbeat <= TimeSpan.Zero || Duration < 2 * Heartbeat)
        {
            yield return $"The lease ({Duration}) must be at least two heartbeats ({Heartbeat}), and the heartbeat positive.";
        }
    }
}
