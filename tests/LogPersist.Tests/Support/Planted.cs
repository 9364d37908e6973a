using System.Diagnostics;

namespace LogPersist.Tests.Support;

/// <summary>What another user of a shared volume can leave in a directory: links, FIFOs, huge files.</summary>
internal static class Planted
{
    /// <summary>A FIFO at <paramref name="path"/>: opening it for reading blocks until a writer comes, which none does.</summary>
    public static void Fifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>A victim file outside the WAL with known content, to see that nothing wrote through a link to it.</summary>
    public static string Victim(TempDirectory temp, string name = "victim.txt")
    {
        var path = temp.Combine(name);
        File.WriteAllText(path, "precious\n");
        return path;
    }

    public static void AssertUntouched(string victim) => Assert.Equal("precious\n", File.ReadAllText(victim));

    /// <summary>Runs <paramref name="action"/> and fails the test (rather than hang it) when it takes longer than <paramref name="limit"/>.</summary>
    public static async Task<T> WithinAsync<T>(TimeSpan limit, Func<T> action)
    {
        var task = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            return await task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Still running after {limit.TotalSeconds:0} s: a hostile file made it hang.");
            throw;
        }
    }
}
