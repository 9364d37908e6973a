using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace LogPersist.AotSmoke;

/// <summary>
/// Time since this process started. On Linux both ends come from the kernel's boot-time clock: the
/// start is <c>starttime</c> in <c>/proc/self/stat</c> (in clock ticks, usually 10 ms, so an elapsed
/// time reads up to one tick long), the end is <c>clock_gettime(CLOCK_BOOTTIME)</c>. Elsewhere it falls
/// back to <see cref="Process.StartTime"/> and the wall clock.
/// </summary>
internal static partial class ProcessClock
{
    private const int ClockBoottime = 7;
    private const int ScClkTck = 2;

    /// <summary>A reading to pass to <see cref="SinceStart"/> later; cheap, so it can be taken right after the measured call.</summary>
    public static long Now() =>
        OperatingSystem.IsLinux() && ClockGetTime(ClockBoottime, out var now) == 0
            ? (now.Seconds * 1_000_000_000) + now.Nanoseconds
            : -DateTime.UtcNow.Ticks;

    /// <summary>Milliseconds from the process start to <paramref name="reading"/>.</summary>
    public static double SinceStart(long reading)
    {
        if (reading < 0)
        {
            return (new DateTime(-reading, DateTimeKind.Utc) - Process.GetCurrentProcess().StartTime.ToUniversalTime()).TotalMilliseconds;
        }

        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var startTicks = long.Parse(fields[22 - 3], CultureInfo.InvariantCulture);
        var ticksPerSecond = SysConf(ScClkTck);
        var startNs = startTicks * (1_000_000_000 / (ticksPerSecond > 0 ? ticksPerSecond : 100));
        return (reading - startNs) / 1_000_000.0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec value);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}
