using System.Globalization;
using System.IO.Abstractions;
using System.Text;

namespace LogPersist.Wal;

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

    /// <summary>Parses a record; fields that are missing or malformed keep their defaults (an older or damaged file).</summary>
    public static OwnerRecord Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                fields[line[..equals]] = line[(equals + 1)..];
            }
        }

        string? Field(string key) => fields.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        long Number(string key) => long.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
        DateTimeOffset Time(string key) =>
            DateTimeOffset.TryParse(Field(key), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value) ? value : default;

        return new OwnerRecord
        {
            Token = Field("token") ?? "",
            ProcessId = (int)Math.Clamp(Number("pid"), 0, int.MaxValue),
            Host = Field("host") ?? "",
            Description = Field("owner"),
            Started = Time("started"),
            Pod = Field("pod"),
            PodUid = Field("pod_uid"),
            Node = Field("node"),
            BootId = Field("boot_id"),
            Epoch = Math.Max(0, Number("epoch")),
            Heartbeat = Number("heartbeat"),
            Lease = TimeSpan.FromSeconds(Math.Clamp(Number("lease_seconds"), 0, 86_400)),
            LeaseExpires = Time("lease_expires"),
            State = Field("state") switch
            {
                "closed" => OwnerState.Closed,
                "adopting" => OwnerState.Adopting,
                _ => OwnerState.Live,
            },
            AdoptedBy = Field("adopted_by"),
        };
    }

    /// <summary>
    /// Reads the raw record of <paramref name="directory"/>: null when there is none. Throws
    /// <see cref="DirectoryNotFoundException"/> when the directory itself is gone (moved by an adopter).
    /// </summary>
    public static string? ReadText(IFileSystem fileSystem, string directory)
    {
        try
        {
            return fileSystem.File.ReadAllText(fileSystem.Path.Combine(directory, FileName));
        }
        catch (FileNotFoundException)
        {
            if (!fileSystem.Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"'{directory}' no longer exists.");
            }

            return null;
        }
    }

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
        var temporary = path + "." + Token + ".tmp";
        try
        {
            using (var stream = fileSystem.FileStream.New(temporary, OwnerOnly.NewFile(FileMode.Create)))
            {
                stream.Write(Encoding.UTF8.GetBytes(Format()));
            }

            fileSystem.File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try
            {
                fileSystem.File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Only a leftover; the next opener removes temporaries.
            }

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
