using System.Globalization;
using System.IO.Abstractions;
using System.Text;
using LogPersist.Diagnostics;

namespace LogPersist.Wal.Ownership;

/// <summary>
/// A claim in the adoption area, <c>{instance}.{epoch}.claim</c>: who claimed a gone instance's
/// directory under an epoch, and when. It is created exclusively, so adopters looking at the same
/// moment contend for the same file and one wins; the winner then moves the directory to
/// <c>{instance}.{epoch}</c> (<see cref="AdoptionArea"/>). Its text is for people and for the losers,
/// who name the winner; nothing decides on it but <see cref="ClaimedBy"/>.
/// </summary>
internal sealed record AdoptionClaim(string AdoptedBy, string From, long Epoch, DateTimeOffset Claimed)
{
    private const string AdoptedByKey = "adopted_by=";

    public int ProcessId { get; init; } = Environment.ProcessId;

    public string Host { get; init; } = Environment.MachineName;

    public string Text => string.Create(CultureInfo.InvariantCulture, $"{AdoptedByKey}{AdoptedBy}\npid={ProcessId}\nhost={Host}\nfrom={From}\nepoch={Epoch}\nclaimed={Claimed:O}\n");

    /// <summary>
    /// Creates the claim at <paramref name="path"/> exclusively and writes it. False with no
    /// <paramref name="writeFailure"/> when a claim is there already (another adopter's); false with
    /// the fault when the file was created but could not be written (a full volume), after removing it
    /// again so that an empty claim stands in nobody's way. Other faults of the create are thrown.
    /// </summary>
    public bool TryCreate(IFileSystem fileSystem, string path, out Exception? writeFailure)
    {
        writeFailure = null;
        FileSystemStream stream;
        try
        {
            stream = fileSystem.FileStream.New(path, OwnerOnly.NewFile(FileMode.CreateNew));
        }
        catch (IOException) when (fileSystem.File.Exists(path))
        {
            return false;
        }

        try
        {
            stream.Write(Encoding.UTF8.GetBytes(Text));
            stream.Dispose();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            Remove(fileSystem, path);
            writeFailure = e;
            return false;
        }
    }

    /// <summary>The text of a claim, read like every control file (<see cref="ControlFile"/>); empty when it is gone.</summary>
    public static string Read(IFileSystem fileSystem, string path) =>
        ControlFile.Read(fileSystem, path) is { } bytes ? Encoding.UTF8.GetString(bytes) : "";

    /// <summary>The adopter a claim's text names, or <c>?</c>.</summary>
    public static string ClaimedBy(string text) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(AdoptedByKey, StringComparison.Ordinal))?[AdoptedByKey.Length..] ?? "?";

    /// <summary>Deletes a claim; a failure is reported, never thrown.</summary>
    public static void Remove(IFileSystem fileSystem, string path)
    {
        try
        {
            fileSystem.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPersistEventSource.Log.OperationFailed(fileSystem.Path.GetDirectoryName(path) ?? path, "removing a claim", e);
        }
    }
}
