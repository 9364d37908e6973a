using System.Runtime.InteropServices;

namespace LogPersist.Cli.Run;

/// <summary>
/// Sends a POSIX signal to the child. <see cref="System.Diagnostics.Process.Kill()"/> only sends
/// SIGKILL, which would not let the child shut down (a Ray worker's own handlers, a Python
/// <c>atexit</c>), so the wrapper calls <c>kill(2)</c> itself.
/// </summary>
internal static class ChildSignals
{
    public const int SigInt = 2;
    public const int SigTerm = 15;

    /// <summary>The Linux number of a signal the wrapper forwards; SIGTERM when none was received (tests cancel a token).</summary>
    public static int Number(PosixSignal? signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => SigInt,
        PosixSignal.SIGQUIT => 3,
        _ => SigTerm,
    };

    /// <summary>Sends <paramref name="signal"/> to <paramref name="processId"/>; false when it could not (the process is gone).</summary>
    public static bool Send(int processId, int signal) =>
        OperatingSystem.IsWindows() ? false : Kill(processId, signal) == 0;

    private const int SigPipe = 13;
    private static readonly IntPtr DefaultAction = IntPtr.Zero;
    private static readonly object SpawnGate = new();

    /// <summary>
    /// Starts a child with SIGPIPE at its default action. The runtime ignores SIGPIPE in this process,
    /// and an ignored signal stays ignored across exec: a child would then see EPIPE errors where it
    /// expects to die quietly (<c>yes | head -1</c>), and would not be stopped by a broken pipe when the
    /// wrapper is gone. The disposition is restored right after the fork; nothing here writes to a pipe
    /// in between (sockets use MSG_NOSIGNAL).
    /// </summary>
    public static void StartWithDefaultSigPipe(System.Diagnostics.Process child)
    {
        if (OperatingSystem.IsWindows())
        {
            child.Start();
            return;
        }

        lock (SpawnGate)
        {
            var previous = Signal(SigPipe, DefaultAction);
            try
            {
                child.Start();
            }
            finally
            {
                Signal(SigPipe, previous);
            }
        }
    }

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern IntPtr Signal(int signal, IntPtr handler);

    // DllImport rather than LibraryImport: two ints need no marshalling, and the tool stays free of unsafe code.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int sig);
}
