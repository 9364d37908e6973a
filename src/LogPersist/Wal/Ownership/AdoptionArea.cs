using System.Globalization;
using System.IO.Abstractions;

namespace LogPersist.Wal.Ownership;

/// <summary>
/// The adoption area of a service, <c>{root}/{namespace}/{service}/.adoption</c>: where an adopter
/// moves the WAL directory of a gone instance (<c>{instance}.{epoch}</c>) after winning its claim
/// (<c>{instance}.{epoch}.claim</c>, created exclusively: <see cref="AdoptionClaim"/>). It is on the same volume as the instance
/// directories, so the move is one atomic rename. Instance names never start with a dot, so the area
/// cannot clash with an instance.
/// </summary>
internal static class AdoptionArea
{
    public const string DirectoryName = ".adoption";
    public const string ClaimSuffix = ".claim";

    /// <summary>The area next to the instance directory <paramref name="instanceDirectory"/>.</summary>
    public static string For(IFileSystem fileSystem, string instanceDirectory) =>
        fileSystem.Path.Combine(ServiceDirectory(fileSystem, instanceDirectory), DirectoryName);

    public static string ServiceDirectory(IFileSystem fileSystem, string instanceDirectory) =>
        fileSystem.Path.GetDirectoryName(fileSystem.Path.TrimEndingDirectorySeparator(instanceDirectory)) ?? instanceDirectory;

    /// <summary>Whether <paramref name="directory"/> is an adopted directory, <c>.adoption/{instance}.{epoch}</c>.</summary>
    public static bool IsAdopted(IFileSystem fileSystem, string directory)
    {
        var full = fileSystem.Path.TrimEndingDirectorySeparator(directory);
        return fileSystem.Path.GetFileName(fileSystem.Path.GetDirectoryName(full)) == DirectoryName
            && TryParse(fileSystem.Path.GetFileName(full), out _, out _, out var isClaim) && !isClaim;
    }

    public static string AdoptedName(string instance, long epoch) =>
        instance + "." + epoch.ToString(CultureInfo.InvariantCulture);

    public static string ClaimName(string instance, long epoch) => AdoptedName(instance, epoch) + ClaimSuffix;

    /// <summary>Splits <c>{instance}.{epoch}</c> or <c>{instance}.{epoch}.claim</c>; false for anything else.</summary>
    public static bool TryParse(string name, out string instance, out long epoch, out bool isClaim)
    {
        isClaim = name.EndsWith(ClaimSuffix, StringComparison.Ordinal);
        var stem = isClaim ? name[..^ClaimSuffix.Length] : name;
        var dot = stem.LastIndexOf('.');
        instance = dot > 0 ? stem[..dot] : "";
        epoch = 0;
        return dot > 0
            && dot < stem.Length - 1
            && stem.AsSpan(dot + 1).IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(stem.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out epoch);
    }

    /// <summary>The highest epoch of any claim or adopted directory of <paramref name="instance"/> in the area (0 when none).</summary>
    public static long HighestEpoch(IFileSystem fileSystem, string area, string instance) =>
        Entries(fileSystem, area, instance).Select(e => e.Epoch).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Claims of <paramref name="instance"/> above <paramref name="epoch"/> whose directory has not been
    /// moved in yet: an adopter that is between its claim and its move (or died there).
    /// </summary>
    public static IReadOnlyList<string> PendingClaims(IFileSystem fileSystem, string area, string instance, long epoch)
    {
        var entries = Entries(fileSystem, area, instance).ToList();
        return entries
            .Where(e => e.IsClaim && e.Epoch > epoch && !entries.Any(d => !d.IsClaim && d.Epoch == e.Epoch))
            .Select(e => fileSystem.Path.Combine(area, e.Name))
            .ToList();
    }

    /// <summary>
    /// After an adopted directory (<c>.adoption/{instance}.{epoch}</c>) was shipped and removed: removes
    /// its claim and the claims it took over (lower epochs of the name whose directory is gone). Does
    /// nothing for a directory outside an adoption area. Never throws.
    /// </summary>
    public static void RemoveClaimsOf(IFileSystem fileSystem, string adoptedDirectory)
    {
        var full = fileSystem.Path.TrimEndingDirectorySeparator(fileSystem.Path.GetFullPath(adoptedDirectory));
        var area = fileSystem.Path.GetDirectoryName(full);
        if (area is null || fileSystem.Path.GetFileName(area) != DirectoryName
            || !TryParse(fileSystem.Path.GetFileName(full), out var instance, out var epoch, out var isClaim) || isClaim)
        {
            return;
        }

        foreach (var claim in PendingClaims(fileSystem, area, instance, 0))
        {
            if (TryParse(fileSystem.Path.GetFileName(claim), out _, out var claimEpoch, out _) && claimEpoch <= epoch)
            {
                AdoptionClaim.Remove(fileSystem, claim);
            }
        }
    }

    /// <summary>
    /// Removes the claims of <paramref name="instance"/> below <paramref name="epoch"/> whose directory is
    /// gone: what an adoption that moved the directory on from an earlier one takes over. Never throws.
    /// </summary>
    public static void RemoveClaimsBelow(IFileSystem fileSystem, string area, string instance, long epoch)
    {
        foreach (var claim in PendingClaims(fileSystem, area, instance, 0))
        {
            if (TryParse(fileSystem.Path.GetFileName(claim), out _, out var claimEpoch, out _) && claimEpoch < epoch)
            {
                AdoptionClaim.Remove(fileSystem, claim);
            }
        }
    }

    private static IEnumerable<(string Name, long Epoch, bool IsClaim)> Entries(IFileSystem fileSystem, string area, string instance)
    {
        string[] names;
        try
        {
            // An area that is a link to elsewhere is no area: nothing in it is read or removed.
            names = fileSystem.Directory.Exists(area) && !WalFiles.IsLink(fileSystem, area)
                ? fileSystem.Directory.EnumerateFileSystemEntries(area, instance + ".*").Select(p => fileSystem.Path.GetFileName(p)).ToArray()
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            names = [];
        }

        foreach (var name in names)
        {
            if (TryParse(name, out var parsed, out var epoch, out var isClaim) && parsed == instance)
            {
                yield return (name, epoch, isClaim);
            }
        }
    }
}
