using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO.Abstractions;
using System.Text;

namespace LogPersist.Wal.Ownership;

/// <summary>What the holder of a WAL directory is doing with it, as its owner record says.</summary>
internal enum OwnerState : byte
{
    /// <summary>A process writes to the directory and renews the record.</summary>
    Live,

    /// <summary>The last holder closed the WAL; what is left in it waits for the next holder or an adopter.</summary>
    Closed,

    /// <summary>An adopter moved the directory of a gone instance here and ships what is left.</summary>
    Adopting,
}

/// <summary>
/// The owner record, <c>wal.owner</c>: who holds a WAL directory (process, pod and its UID, node, boot
/// id), the directory's epoch, and a lease the holder renews by rewriting the file every few seconds
/// (a new file, then a rename, so a reader sees a whole record or the previous one). Other instances
/// on a shared volume tell a gone holder from a live one by whether the record still changes; the
/// lease expiry is written for people reading the file, never compared with another node's clock.
/// </summary>
internal sealed record OwnerRecord
{
    public const string FileName = DirectoryLock.OwnerFileName;

    /// <summary>Random per opening of the WAL: tells this holder's record from any other's.</summary>
    public required string Token { get; init; }

    public int ProcessId { get; init; }

    public string Host { get; init; } = "";

    /// <summary>What the holder calls itself (<c>service/instance</c>, <c>logpersist drain</c>).</summary>
    public string? Description { get; init; }

    public DateTimeOffset Started { get; init; }

    public string? Pod { get; init; }

    public string? PodUid { get; init; }

    public string? Node { get; init; }

    public string? BootId { get; init; }

    /// <summary>Raised by each adoption of the directory; a holder that finds a higher one stops writing there.</summary>
    public long Epoch { get; init; }

    /// <summary>Renewals so far: every rewrite changes the record, which is what observers watch.</summary>
    public long Heartbeat { get; init; }

    /// <summary>How long observers must see the record unchanged before they may take the holder for gone.</summary>
    public TimeSpan Lease { get; init; }

    /// <summary>The lease an observer waits out for this record: <see cref="Lease"/>, at most <see cref="LeaseOptions.MaxHonoured"/>.</summary>
    public TimeSpan HonouredLease => Lease < LeaseOptions.MaxHonoured ? Lease : LeaseOptions.MaxHonoured;

    /// <summary>The holder's wall clock at the last renewal plus the lease: for people, not for other nodes' decisions.</summary>
    public DateTimeOffset LeaseExpires { get; init; }

    public OwnerState State { get; init; }

    /// <summary>For an adopted directory: the instance that adopted it.</summary>
    public string? AdoptedBy { get; init; }

    public string Format()
    {
        var text = new StringBuilder();
        void Line(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                text.Append(key).Append('=').Append(value.ReplaceLineEndings(" ")).Append('\n');
            }
        }

        var invariant = CultureInfo.InvariantCulture;
        Line("pid", ProcessId.ToString(invariant));
        Line("host", Host);
        Line("started", Started.ToString("O", invariant));
        Line("owner", Description);
        Line("token", Token);
        Line("pod", Pod);
        Line("pod_uid", PodUid);
        Line("node", Node);
        Line("boot_id", BootId);
        Line("epoch", Epoch.ToString(invariant));
        Line("heartbeat", Heartbeat.ToString(invariant));
        Line("lease_seconds", ((long)Math.Ceiling(Lease.TotalSeconds)).ToString(invariant));
        Line("lease_expires", LeaseExpires.ToString("O", invariant));
        Line("state", State.ToString().ToLowerInvariant());
        Line("adopted_by", AdoptedBy);
        return text.ToString();
    }

    /// <summary>The highest epoch a valid record holds: far beyond any number of adoptions, far from overflow.</summary>
    public const long MaxEpoch = 1L << 40;

    /// <summary>The longest lease a valid record may state; observers honour at most <see cref="LeaseOptions.MaxHonoured"/> of it.</summary>
    public const long MaxLeaseSeconds = 86_400;

    /// <summary>Parses a record; throws <see cref="UntrustedFileException"/> saying what is wrong when it is not a valid one.</summary>
    public static OwnerRecord Parse(string text) =>
        TryParse(text, out var record, out var problem) ? record : throw new UntrustedFileException("The owner record is invalid: " + problem);

    /// <summary>
    /// Parses a record. Fields that are missing keep their defaults (a record of an earlier version);
    /// unknown fields are ignored (a later version's). It is invalid — false, with
    /// <paramref name="problem"/> saying why — without a token, with a line that is not
    /// <c>key=value</c>, or with a field outside its bounds (a negative or huge epoch, a lease over a
    /// day, a state that does not exist).
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out OwnerRecord? record, [NotNullWhen(false)] out string? problem)
    {
        record = null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                fields[line[..equals]] = line[(equals + 1)..];
            }
            else if (line.Length > 0)
            {
                problem = $"line {number} is not key=value";
                return false;
            }
        }

        string? Field(string key) => fields.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        string? bad = null;
        long Number(string key, long min, long max)
        {
            if (Field(key) is not { } text)
            {
                return 0;
            }

            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                bad ??= $"{key} '{Shorten(text)}' is not a number from {min} to {max}";
            }

            return Math.Clamp(value, min, max);
        }

        DateTimeOffset Time(string key)
        {
            if (Field(key) is not { } text)
            {
                return default;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value))
            {
                bad ??= $"{key} '{Shorten(text)}' is not a time";
            }

            return value;
        }

        var token = Field("token");
        if (token is null || token.Length > 64 || token.AsSpan().IndexOfAnyExcept(TokenCharacters) >= 0)
        {
            problem = token is null ? "it has no token" : $"token '{Shorten(token)}' is not 1 to 64 letters, digits, '-' or '_'";
            return false;
        }

        var state = OwnerState.Live;
        switch (Field("state"))
        {
            case null or "live":
                break;
            case "closed":
                state = OwnerState.Closed;
                break;
            case "adopting":
                state = OwnerState.Adopting;
                break;
            case var other:
                bad = $"state '{Shorten(other)}' is none of live, closed, adopting";
                break;
        }

        var parsed = new OwnerRecord
        {
            Token = token,
            ProcessId = (int)Number("pid", 0, int.MaxValue),
            Host = Field("host") ?? "",
            Description = Field("owner"),
            Started = Time("started"),
            Pod = Field("pod"),
            PodUid = Field("pod_uid"),
            Node = Field("node"),
            BootId = Field("boot_id"),
            Epoch = Number("epoch", 0, MaxEpoch),
            Heartbeat = Number("heartbeat", 0, long.MaxValue),
            Lease = TimeSpan.FromSeconds(Number("lease_seconds", 0, MaxLeaseSeconds)),
            LeaseExpires = Time("lease_expires"),
            State = state,
            AdoptedBy = Field("adopted_by"),
        };
        if (bad is not null)
        {
            problem = bad;
            return false;
        }

        record = parsed;
        problem = null;
        return true;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static readonly System.Buffers.SearchValues<char> TokenCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    /// <summary>
    /// Reads the raw record of <paramref name="directory"/>: null when there is none. Throws
    /// <see cref="DirectoryNotFoundException"/> when the directory itself is gone (moved by an adopter),
    /// and <see cref="UntrustedFileException"/> when the file is a link, not a regular file or larger
    /// than a control file may be (<see cref="ControlFile"/>).
    /// </summary>
    public static string? ReadText(IFileSystem fileSystem, string directory)
    {
        var bytes = ControlFile.Read(fileSystem, fileSystem.Path.Combine(directory, FileName));
        if (bytes is null)
        {
            if (!fileSystem.Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"'{directory}' no longer exists.");
            }

            return null;
        }

        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// The record of <paramref name="directory"/>: null when there is none (or it is empty: a record cut
    /// to nothing by a power loss is no record). Throws like <see cref="ReadText"/>, and
    /// <see cref="UntrustedFileException"/> when its content is not a valid record.
    /// </summary>
    public static OwnerRecord? Read(IFileSystem fileSystem, string directory) =>
        ReadText(fileSystem, directory) is { Length: > 0 } text ? Parse(text) : null;

    /// <summary>
    /// What observers watch for change, with one <c>stat</c>: the record's modification time and size
    /// (<c>none</c> without a record). A renewal replaces the file; a holder that cannot write a new one
    /// (a full volume) changes its modification time instead. Throws <see cref="DirectoryNotFoundException"/>
    /// when the directory itself is gone.
    /// </summary>
    public static string Stamp(IFileSystem fileSystem, string directory)
    {
        var info = fileSystem.FileInfo.New(fileSystem.Path.Combine(directory, FileName));
        if (!info.Exists)
        {
            if (!fileSystem.Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"'{directory}' no longer exists.");
            }

            return "none";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{info.LastWriteTimeUtc.Ticks}:{info.Length}");
    }

    /// <summary>Writes the record into <paramref name="directory"/>: a new owner-only file, then a rename over the old one.</summary>
    public void Write(IFileSystem fileSystem, string directory)
    {
        var path = fileSystem.Path.Combine(directory, FileName);
        var temporary = TemporaryFile.PathFor(fileSystem, path);
        try
        {
            using (var stream = TemporaryFile.Create(fileSystem, temporary))
            {
                stream.Write(Encoding.UTF8.GetBytes(Format()));
            }

            fileSystem.File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TemporaryFile.TryDelete(fileSystem, temporary);
            throw;
        }
    }

    /// <summary>This process's identity in a cluster: pod, UID and node from the downward API, the kernel's boot id.</summary>
    public static OwnerRecord ForThisProcess(string? description, Func<string, string?> environment, TimeSpan lease, TimeProvider time) =>
        new()
        {
            Token = Guid.NewGuid().ToString("N"),
            ProcessId = Environment.ProcessId,
            Host = Environment.MachineName,
            Description = description,
            Started = time.GetUtcNow(),
            Pod = environment("POD_NAME") ?? environment("HOSTNAME"),
            PodUid = environment("POD_UID"),
            Node = environment("NODE_NAME"),
            BootId = ReadBootId(),
            Lease = lease,
        };

    private static string? ReadBootId()
    {
        try
        {
            return File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
