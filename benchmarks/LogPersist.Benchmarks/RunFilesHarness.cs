using System.Diagnostics;
using System.Globalization;
using LogPersist.Entries;
using LogPersist.Wal;

namespace LogPersist.Benchmarks;

/// <summary>
/// What <c>logpersist run --files</c> costs and how long a line written to a followed file waits
/// before it is in the WAL, next to the same lines written to the child's stdout (the pipe path), in
/// the same round. Each line is 100 bytes plus a newline and carries its sequence number and the wall
/// clock (ns since the Unix epoch, the clock of the WAL's timestamps) at which it was written; the
/// harness reads each WAL back, checks that every line is there exactly once, and computes:
/// <list type="bullet">
/// <item><description>lag: a writer paces lines at a fixed total rate over 1, 10 and 100 files (or the
/// child's stdout), each line its own <c>write</c>; lag is the entry's timestamp (when the wrapper read
/// the line) less the time written in the line;</description></item>
/// <item><description>throughput: a writer writes the lines as fast as it can in 64 KiB chunks of whole
/// lines; the time is from the first line's creation to the last entry's timestamp.</description></item>
/// </list>
/// The writer is a separate process (for the pipe path, the wrapper's child), so its CPU is not the
/// wrapper's. The wrapper's CPU (user + sys of its own threads, from <c>/proc/PID/stat</c>) is counted
/// from the end of a warm-up (the same writer, run once before, so that the code is compiled) to the
/// moment the wrapper is idle again after the measured lines: start-up and shut-down are left out.
/// </summary>
internal static class RunFilesHarness
{
    /// <summary>Bytes of a line without its newline: 9 digits of sequence, 19 of ns, 3 of file, 3 spaces, padding.</summary>
    private const int LineBytes = 100;

    private const int ChunkBytes = 64 * 1024;

    /// <summary>
    /// Lines written before a throughput measurement, as fast as possible, so that the wrapper's code is
    /// compiled (and tiered up) by then. Before a lag measurement, two seconds of paced lines are written
    /// instead: a pass per few lines, so that the code of a pass is compiled too.
    /// </summary>
    private const int BurstWarmUpLines = 20_000;

    private static readonly int[] FileCounts = [1, 10, 100];

    public static int Run(int lines, int rounds, int pacedLines, int rate, string? tool)
    {
        tool ??= DefaultTool();
        if (!File.Exists(tool))
        {
            Console.Error.WriteLine($"{tool} not found; build it first: dotnet build src/LogPersist.Cli -c Release");
            return 2;
        }

        var writer = Path.Combine(AppContext.BaseDirectory, "LogPersist.Benchmarks.dll");
        Console.WriteLine(Invariant($"tool: {tool}; lag: {pacedLines} lines at {rate} lines/s in total; throughput: {lines} lines as fast as possible; lines of {LineBytes + 1} bytes"));
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"round {round} loadavg at start: {File.ReadAllText("/proc/loadavg").Trim()}");
            foreach (var paced in (bool[])[true, false])
            {
                var count = paced ? pacedLines : lines;
                var pipe = Measure(tool, writer, paced, files: 0, count, rate);
                Print(round, pipe, null);
                foreach (var files in FileCounts)
                {
                    Print(round, Measure(tool, writer, paced, files, count, rate), pipe);
                }
            }
        }

        return 0;
    }

    /// <summary>
    /// The writer process: <c>line-writer paced|burst TARGET FILES FIRST LINES RATE</c>, TARGET a directory
    /// (files <c>f000.log</c>, … opened, or created, before the first line) or <c>-</c> for stdout; the
    /// lines are numbered from FIRST.
    /// </summary>
    public static int Write(string[] args)
    {
        var paced = args[0] == "paced";
        var target = args[1];
        var files = int.Parse(args[2], CultureInfo.InvariantCulture);
        var first = int.Parse(args[3], CultureInfo.InvariantCulture);
        var lines = int.Parse(args[4], CultureInfo.InvariantCulture);
        var rate = int.Parse(args[5], CultureInfo.InvariantCulture);
        var streams = new Stream[target == "-" ? 1 : files];
        for (var f = 0; f < streams.Length; f++)
        {
            streams[f] = target == "-"
                ? Console.OpenStandardOutput()
                : new FileStream(Path.Combine(target, $"f{f:D3}.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }

        if (paced)
        {
            // Each line its own write, at its due time; Thread.Sleep(1) between bursts keeps a core free.
            var line = new byte[LineBytes + 1];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < lines; i++)
            {
                var due = (long)i * Stopwatch.Frequency / rate;
                while (clock.ElapsedTicks < due)
                {
                    Thread.Sleep(1);
                }

                Format(line, first + i, i % streams.Length);
                streams[i % streams.Length].Write(line);
            }
        }
        else
        {
            var chunks = new byte[streams.Length][];
            var filled = new int[streams.Length];
            for (var f = 0; f < streams.Length; f++)
            {
                chunks[f] = new byte[ChunkBytes];
            }

            for (var i = 0; i < lines; i++)
            {
                var f = i % streams.Length;
                if (filled[f] + LineBytes + 1 > ChunkBytes)
                {
                    streams[f].Write(chunks[f], 0, filled[f]);
                    filled[f] = 0;
                }

                Format(chunks[f].AsSpan(filled[f], LineBytes + 1), first + i, f);
                filled[f] += LineBytes + 1;
            }

            for (var f = 0; f < streams.Length; f++)
            {
                streams[f].Write(chunks[f], 0, filled[f]);
            }
        }

        foreach (var stream in streams)
        {
            stream.Dispose();
        }

        return 0;
    }

    private static void Format(Span<byte> line, int sequence, int file)
    {
        var now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        line[..LineBytes].Fill((byte)'x');
        sequence.TryFormat(line, out _, "D9", CultureInfo.InvariantCulture);
        line[9] = (byte)' ';
        now.TryFormat(line[10..], out _, "D19", CultureInfo.InvariantCulture);
        line[29] = (byte)' ';
        file.TryFormat(line[30..], out _, "D3", CultureInfo.InvariantCulture);
        line[33] = (byte)' ';
        line[LineBytes] = (byte)'\n';
    }

    private sealed record Result(
        bool Paced,
        int Files,
        int Lines,
        long Missing,
        long Duplicate,
        long Other,
        double WrapperCpuSeconds,
        double Seconds,
        double WriterSeconds,
        double P50Ms,
        double P99Ms,
        double MaxMs,
        long Over50Ms,
        string Stderr)
    {
        public double LinesPerSecond => Lines / Seconds;

        public double CpuMicrosPerLine => WrapperCpuSeconds * 1e6 / Lines;

        /// <summary>The wrapper's CPU over the time the lines were written, in % of one core.</summary>
        public double CpuPercent => WrapperCpuSeconds * 100 / WriterSeconds;
    }

    private static Result Measure(string tool, string writer, bool paced, int files, int lines, int rate)
    {
        var root = Path.Combine(Path.GetTempPath(), "logpersist-bench", Guid.NewGuid().ToString("N"));
        var logs = Path.Combine(root, "logs");
        var wal = Path.Combine(root, "wal");
        var go = Path.Combine(root, "go");
        var warm = Path.Combine(root, "warm");
        var done = Path.Combine(root, "done");
        var stderr = Path.Combine(root, "wrapper.stderr");
        Directory.CreateDirectory(logs);
        try
        {
            foreach (var fifo in (string[])[go, warm, done])
            {
                Exec("mkfifo", fifo);
            }

            var mode = paced ? "paced" : "burst";
            var target = files == 0 ? "-" : logs;
            var count = Math.Max(files, 1).ToString(CultureInfo.InvariantCulture);
            var warmUpLines = paced ? 2 * rate : BurstWarmUpLines;
            string[] warmUp = [writer, "line-writer", mode, target, count, "0", warmUpLines.ToString(CultureInfo.InvariantCulture), rate.ToString(CultureInfo.InvariantCulture)];
            string[] measured = [writer, "line-writer", mode, target, count, warmUpLines.ToString(CultureInfo.InvariantCulture), lines.ToString(CultureInfo.InvariantCulture), rate.ToString(CultureInfo.InvariantCulture)];

            // The child waits on FIFOs, so the harness knows where it is: opening one for writing returns
            // once the child reads it, closing it lets the child go on. The child of the pipe path runs the
            // writers itself (warm-up, then measured) between them; that of the file path only waits.
            var child = files == 0
                ? $"/bin/sh -c {Quote($"cat {Quote(go)} > /dev/null; dotnet {string.Join(' ', warmUp.Select(Quote))}; cat {Quote(warm)} > /dev/null; dotnet {string.Join(' ', measured.Select(Quote))}; exec cat {Quote(done)} > /dev/null")}"
                : $"cat {Quote(done)}";
            var follow = files == 0 ? "" : $"--files {Quote(Path.Combine(logs, "*.log"))} ";
            var shell = $"exec dotnet {Quote(tool)} run --directory {Quote(wal)} --service bench --instance i {follow}-- {child} > /dev/null 2> {Quote(stderr)}";
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(shell);
            using var wrapper = Process.Start(start)!;

            // The wrapper follows the files before it starts its child: once the child reads, it is ready.
            double cpu;
            if (files == 0)
            {
                OpenFifo(go, wrapper).Dispose();
                using (OpenFifo(warm, wrapper))
                {
                    cpu = Idle(wrapper.Id);
                }

                using (OpenFifo(done, wrapper))
                {
                    cpu = Idle(wrapper.Id) - cpu;
                }
            }
            else
            {
                using (OpenFifo(done, wrapper))
                {
                    Exec("dotnet", warmUp);
                    var warmed = Idle(wrapper.Id);
                    Exec("dotnet", measured);
                    cpu = Idle(wrapper.Id) - warmed;
                }
            }

            if (!wrapper.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                wrapper.Kill(entireProcessTree: true);
                throw new InvalidOperationException("the wrapper did not exit within 10 minutes");
            }

            if (wrapper.ExitCode != 0)
            {
                throw new InvalidOperationException($"the wrapper exited with {wrapper.ExitCode}: {File.ReadAllText(stderr)}");
            }

            var read = ReadWal(Path.Combine(wal, "default", "bench", "i"), warmUpLines, lines);
            return new Result(
                paced,
                files,
                lines,
                read.Missing,
                read.Duplicate,
                read.Other,
                cpu,
                (read.LastEntryNs - read.FirstWrittenNs) / 1e9,
                (read.LastWrittenNs - read.FirstWrittenNs) / 1e9,
                Percentile(read.Lags, 0.50),
                Percentile(read.Lags, 0.99),
                read.Lags.Length == 0 ? double.NaN : read.Lags[^1] / 1e6,
                read.Lags.LongCount(lag => lag > 50_000_000),
                File.ReadAllText(stderr).Trim());
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>Opens a FIFO for writing: returns once the child opened it for reading.</summary>
    private static FileStream OpenFifo(string fifo, Process wrapper)
    {
        var opening = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1));
        while (!opening.Wait(50))
        {
            if (wrapper.HasExited)
            {
                throw new InvalidOperationException($"the wrapper exited with {wrapper.ExitCode} before its child reached {Path.GetFileName(fifo)}");
            }
        }

        return opening.Result;
    }

    /// <summary>
    /// Waits at least a second (longer than the poll interval, and for the JIT's tier-up), then until the
    /// wrapper used at most one clock tick of CPU in each of two 250 ms intervals: it has read everything.
    /// Returns the wrapper's CPU seconds so far.
    /// </summary>
    private static double Idle(int shellPid)
    {
        var pid = FindWrapper(shellPid);
        Thread.Sleep(1000);
        var last = CpuSeconds(pid);
        var quiet = 0;
        var clock = Stopwatch.StartNew();
        while (quiet < 2 && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            Thread.Sleep(250);
            var now = CpuSeconds(pid);
            quiet = now - last <= 0.011 ? quiet + 1 : 0;
            last = now;
        }

        return last;
    }

    private sealed record WalContents(long Missing, long Duplicate, long Other, long FirstWrittenNs, long LastWrittenNs, long LastEntryNs, long[] Lags);

    /// <summary>
    /// Reads every entry and checks that each line, warm-up ones included, is there exactly once; the
    /// times and lags (each line's first entry's, sorted) are those of the measured lines only.
    /// </summary>
    private static WalContents ReadWal(string directory, int warmUpLines, int lines)
    {
        var total = warmUpLines + lines;
        var seen = new int[total];
        var lags = new long[lines];
        long other = 0, firstWritten = long.MaxValue, lastWritten = long.MinValue, lastEntry = long.MinValue;
        using (var reader = new WalReader(new System.IO.Abstractions.FileSystem(), directory, WalPosition.Start, long.MaxValue))
        {
            while (reader.TryRead(out var record))
            {
                if (record.Kind != RecordKind.Data)
                {
                    continue;
                }

                if (!EntryView.TryDecode(record.Payload.Span, out var entry)
                    || entry.Message.Length != LineBytes
                    || !int.TryParse(entry.Message[..9], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
                    || !long.TryParse(entry.Message[10..29], NumberStyles.None, CultureInfo.InvariantCulture, out var written)
                    || sequence >= total)
                {
                    other++;
                    continue;
                }

                if (seen[sequence]++ > 0 || sequence < warmUpLines)
                {
                    continue;
                }

                lags[sequence - warmUpLines] = entry.TimestampNs - written;

                firstWritten = Math.Min(firstWritten, written);
                lastWritten = Math.Max(lastWritten, written);
                lastEntry = Math.Max(lastEntry, entry.TimestampNs);
            }
        }

        long missing = 0, duplicate = 0;
        var found = new List<long>(lines);
        for (var i = 0; i < total; i++)
        {
            missing += seen[i] == 0 ? 1 : 0;
            duplicate += Math.Max(0, seen[i] - 1);
            if (seen[i] > 0 && i >= warmUpLines)
            {
                found.Add(lags[i - warmUpLines]);
            }
        }

        var sorted = found.ToArray();
        Array.Sort(sorted);
        return new WalContents(missing, duplicate, other, firstWritten, lastWritten, lastEntry, sorted);
    }

    private static double Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] / 1e6;

    private static void Print(int round, Result r, Result? pipe)
    {
        var what = r.Files == 0 ? "pipe" : $"files={r.Files}";
        var check = Invariant($"missing {r.Missing} duplicate {r.Duplicate} other {r.Other}{(r.Missing + r.Duplicate + r.Other == 0 ? "" : " CHECK FAILED")}");
        var cpu = Invariant($"wrapper CPU {r.WrapperCpuSeconds:F2} s = {r.CpuMicrosPerLine:F2} µs/line");
        string line;
        if (r.Paced)
        {
            line = Invariant($"round {round} lag {what}: {r.Lines} lines over {r.WriterSeconds:F2} s; lag p50 {r.P50Ms:F3} ms p99 {r.P99Ms:F3} ms max {r.MaxMs:F3} ms, {r.Over50Ms} lines over 50 ms; {cpu} ({r.CpuPercent:F1}% of a core while writing); {check}");
            if (pipe is not null)
            {
                line += Invariant($"; file/pipe p50 {r.P50Ms / pipe.P50Ms:F0}x, CPU/line {r.CpuMicrosPerLine / pipe.CpuMicrosPerLine:F2}x");
            }
        }
        else
        {
            line = Invariant($"round {round} throughput {what}: {r.Lines} lines in {r.Seconds:F2} s = {r.LinesPerSecond / 1e6:F3} M lines/s (writer done after {r.WriterSeconds:F2} s; lag p50 {r.P50Ms:F0} ms max {r.MaxMs:F0} ms); {cpu}; {check}");
            if (pipe is not null)
            {
                line += Invariant($"; file/pipe lines/s {r.LinesPerSecond / pipe.LinesPerSecond:F2}x, CPU/line {r.CpuMicrosPerLine / pipe.CpuMicrosPerLine:F2}x");
            }
        }

        if (r.Stderr.Length > 0)
        {
            line += $"; wrapper stderr: {r.Stderr}";
        }

        Console.WriteLine(line);
    }

    /// <summary>The wrapper's process: the shell started for it execs <c>dotnet</c>, which keeps its pid.</summary>
    private static int FindWrapper(int shellPid)
    {
        var argv = File.ReadAllText($"/proc/{shellPid}/cmdline").Split('\0');
        return Path.GetFileName(argv[0]) == "dotnet" && argv.Contains("run")
            ? shellPid
            : throw new InvalidOperationException($"process {shellPid} is not the wrapper: {string.Join(' ', argv)}");
    }

    /// <summary>User + system CPU of the process itself (all its threads, not its children), from /proc/PID/stat.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

        // Fields 14 and 15 (utime, stime) in clock ticks of 1/100 s; field 3 (state) is fields[0].
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static void Exec(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {process.ExitCode}: {error}");
        }
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The Release build of the tool in this repository.</summary>
    private static string DefaultTool()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LogPersist.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? ".", "src", "LogPersist.Cli", "bin", "Release", "net10.0", "LogPersist.Cli.dll");
    }
}
