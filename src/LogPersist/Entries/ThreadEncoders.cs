namespace LogPersist.Entries;

/// <summary>
/// One <see cref="EntryEncoder"/> per thread for the log call's path, so encoding allocates nothing.
/// A nested log call on the same thread (a property's <c>ToString</c> that logs) gets a fresh encoder.
/// </summary>
internal static class ThreadEncoders
{
    private const int MaxRetainedBytes = 64 * 1024;

    [ThreadStatic]
    private static EntryEncoder? t_cached;

    /// <summary>The thread's encoder, set to encode within <paramref name="limits"/> (a pipeline's).</summary>
    public static EntryEncoder Rent(EntryLimits limits)
    {
        var encoder = t_cached;
        if (encoder is null)
        {
            return new EntryEncoder(limits);
        }

        t_cached = null;
        encoder.Limits = limits;
        return encoder;
    }

    public static void Return(EntryEncoder encoder)
    {
        encoder.TrimExcess(MaxRetainedBytes);
        t_cached = encoder;
    }
}
