using System.Runtime.CompilerServices;

namespace LogPersist.Tests.Support;

/// <summary>A fresh directory per test, named after the test, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    private static int s_counter;

    public TempDirectory([CallerMemberName] string name = "", [CallerFilePath] string file = "")
    {
        Path = System.IO.Path.Combine(
            System.IO.Path.GetTempPath(),
            "logpersist-tests",
            $"{System.IO.Path.GetFileNameWithoutExtension(file)}.{name}.{Environment.ProcessId}.{Interlocked.Increment(ref s_counter)}");
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }

        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
