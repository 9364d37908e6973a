namespace LogPersist;

/// <summary>
/// Thrown when a WAL directory is already held by another live process (or another WAL instance in
/// this process). One directory belongs to one writer at a time.
/// </summary>
public sealed class WalLockedException : IOException
{
    /// <summary>Creates the exception for <paramref name="directory"/>, naming the holder when it is known.</summary>
    public WalLockedException(string directory, int? holderProcessId, string? holderDescription, Exception? innerException = null)
        : base(BuildMessage(directory, holderProcessId, holderDescription), innerException)
    {
        Directory = directory;
        HolderProcessId = holderProcessId;
    }

    /// <summary>The WAL directory that could not be locked.</summary>
    public string Directory { get; }

    /// <summary>The process id recorded by the holder, when it could be read.</summary>
    public int? HolderProcessId { get; }

    private static string BuildMessage(string directory, int? pid, string? description)
    {
        var holder = pid is { } p ? $"process {p}" : "another process";
        if (!string.IsNullOrEmpty(description))
        {
            holder += $" ({description})";
        }

        return $"The WAL directory '{directory}' is locked by {holder}. Each process instance needs its own WAL directory.";
    }
}
