using System.Text;
using System.Text.Json;
using LogPersist.Cli;
using LogPersist.Entries;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Cli;

/// <summary>What <c>logpersist run</c> returned and passed through, byte for byte.</summary>
internal sealed record RunResult(int ExitCode, byte[] Stdout, byte[] Stderr)
{
    public string StderrText => Encoding.UTF8.GetString(Stderr);
}

/// <summary>One WAL entry of a run, with its Loki JSON line for the properties.</summary>
internal sealed record RunEntry(string Category, EntryLevel Level, string Message, long TimestampNs, JsonElement Line);

/// <summary>Runs <c>logpersist run</c> in-process with raw output streams, and reads back the WAL it wrote.</summary>
internal static class RunHarness
{
    public const string Service = "svc";
    public const string Instance = "pod-1";

    /// <summary>
    /// Runs <c>logpersist run --directory ROOT --service svc --instance pod-1 OPTIONS -- /bin/sh -c SCRIPT</c>.
    /// The streams may be given to watch the output while the child runs.
    /// </summary>
    public static async Task<RunResult> ShellAsync(string root, string script, string[]? options = null, RecordingStream? stdout = null, RecordingStream? stderr = null, CancellationToken cancellation = default)
    {
        string[] args = ["run", "--directory", root, "--service", Service, "--instance", Instance, .. options ?? [], "--", "/bin/sh", "-c", script];
        return await RunAsync(args, stdout, stderr, cancellation);
    }

    public static async Task<RunResult> RunAsync(string[] args, RecordingStream? stdout = null, RecordingStream? stderr = null, CancellationToken cancellation = default)
    {
        stdout ??= new RecordingStream();
        stderr ??= new RecordingStream();
        using var output = new StreamWriter(stdout, new UTF8Encoding(false)) { AutoFlush = true };
        using var error = new StreamWriter(stderr, new UTF8Encoding(false)) { AutoFlush = true };
        var plain = CliContext.ForWriters(output, error, cancellation);
        var context = new CliContext
        {
            Out = output,
            Error = error,
            Console = plain.Console,
            Cancellation = cancellation,
            Environment = _ => null,
        };
        var exitCode = await CliApp.InvokeAsync(args, context);
        return new RunResult(exitCode, stdout.ToArray(), stderr.ToArray());
    }

    /// <summary>The instance's WAL directory under <paramref name="root"/> (no namespace in the test environment).</summary>
    public static string WalDirectory(string root) => Path.Combine(root, "default", Service, Instance);

    /// <summary>Every data entry of a closed WAL directory, in WAL order; of a live one's with <paramref name="live"/>.</summary>
    public static List<RunEntry> Entries(string root, bool live = false)
    {
        var directory = WalDirectory(root);
        var records = Wals.ReadAll(directory, out var reader, liveFrom: live ? Wals.NewestSegment(directory) : long.MaxValue);
        using var _ = reader;
        using var formatter = new LineFormatter(LineFormat.Json);
        var entries = new List<RunEntry>();
        foreach (var (kind, payload) in records.Where(r => r.Kind == RecordKind.Data))
        {
            Assert.True(EntryView.TryDecode(payload, out var view));
            var line = JsonDocument.Parse(formatter.Format(view, includeTrace: true).ToArray()).RootElement.Clone();
            entries.Add(new RunEntry(Encoding.UTF8.GetString(view.Category), view.Level, Encoding.UTF8.GetString(view.Message), view.TimestampNs, line));
        }

        return entries;
    }

    public static List<string> Messages(this IEnumerable<RunEntry> entries, string category) =>
        [.. entries.Where(e => e.Category == category).Select(e => e.Message)];
}

/// <summary>A write-only stream that keeps what was written and can be watched from another thread.</summary>
internal sealed class RecordingStream : Stream
{
    private readonly MemoryStream _bytes = new();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => ToArray().Length;

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public byte[] ToArray()
    {
        lock (_bytes)
        {
            return _bytes.ToArray();
        }
    }

    /// <summary>Polls until the text written contains <paramref name="text"/>; false at the deadline.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Encoding.UTF8.GetString(ToArray()).Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_bytes)
        {
            _bytes.Write(buffer);
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
