namespace LogPersist.Tests.Support;

/// <summary>
/// The checked-in files under <c>Fixtures/</c>, copied next to the tests: bytes as a released version wrote them,
/// forged independently of LogPersist's encoders (see <c>Fixtures/v1/README.md</c>).
/// </summary>
internal static class Fixtures
{
    public static string Path(params string[] parts) => System.IO.Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    public static byte[] Bytes(params string[] parts) => File.ReadAllBytes(Path(parts));

    /// <summary>Copies the files of a fixture folder into <paramref name="destination"/>, leaving out <paramref name="except"/>.</summary>
    public static void CopyFolder(string folder, string destination, params string[] except)
    {
        foreach (var file in Directory.GetFiles(Path(folder.Split('/'))))
        {
            var name = System.IO.Path.GetFileName(file);
            if (!except.Contains(name))
            {
                File.Copy(file, System.IO.Path.Combine(destination, name));
            }
        }
    }
}
