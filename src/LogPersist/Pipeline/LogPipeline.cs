using LogPersist.Diagnostics;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Pipeline;

/// <summary>
/// One instance's WAL and, when a Loki URL is set, the shipper that empties it: what the logging
/// provider and the Serilog sink write into. Opening it is the start-up check (options, directory,
/// lock); after that nothing it does throws into the application.
/// </summary>
internal sealed class LogPipeline : IAsyncDisposable, IDisposable
{
    private readonly TimeSpan _flushTimeout;
    private int _stopped;

    private LogPipeline(WriteAheadLog wal, Shipper? shipper, LogPersistOptions options, string destination)
    {
        Wal = wal;
        Shipper = shipper;
        MinimumLevel = options.MinimumLevel;
        Time = options.TimeProvider;
        _flushTimeout = options.FlushTimeout;
        MaxDiskBytes = options.MaxDiskBytes;
        SegmentBytes = options.SegmentBytes;
        FullMode = options.FullMode;
        Destination = destination;
    }

    public WriteAheadLog Wal { get; }

    public Shipper? Shipper { get; }

    public EntryLevel MinimumLevel { get; }

    public TimeProvider Time { get; }

    public string Directory => Wal.Directory;

    public long MaxDiskBytes { get; }

    public long SegmentBytes { get; }

    public WalFullMode FullMode { get; }

    /// <summary>The push URL (without credentials), or a note that entries stay in the WAL.</summary>
    public string Destination { get; }

    /// <summary>
    /// Validates the options, opens (creating if needed) and locks the instance's WAL directory and
    /// starts shipping. Throws <see cref="ArgumentException"/> for invalid options,
    /// <see cref="WalLockedException"/> when another process holds the directory, and
    /// <see cref="InvalidOperationException"/> naming the path when it cannot be created or written.
    /// </summary>
    public static LogPipeline Open(LogPersistOptions options)
    {
        var settings = PipelineSettings.Resolve(options);
        WriteAheadLog wal;
        try
        {
            wal = WriteAheadLog.Open(settings.Wal);
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not WalLockedException)
        {
            throw new InvalidOperationException($"LogPersist cannot write its WAL directory '{settings.Wal.Directory}': {e.Message}", e);
        }

        SaveStreamDescription(wal, settings.Stream, options.FileSystem);
        Shipper? shipper = null;
        try
        {
            if (settings.Shipper is { } shipping)
            {
                shipper = new Shipper(wal, shipping, options.HttpHandler);
                shipper.Start();
            }
        }
        catch
        {
            wal.Dispose();
            throw;
        }

        var destination = settings.Shipper?.Loki.PushUri.ToString() ?? "none (WAL only)";
        LogPersistEventSource.Log.PipelineStarted(wal.Directory, settings.RootSource, destination);
        var pipeline = new LogPipeline(wal, shipper, options, destination);
        PipelineRegistry.Add(pipeline);
        return pipeline;
    }

    private static void SaveStreamDescription(WriteAheadLog wal, StreamDescription stream, System.IO.Abstractions.IFileSystem fileSystem)
    {
        try
        {
            stream.Save(fileSystem, wal.Directory);
        }
#pragma warning disable CA1031 // The file is optional: no failure to write it may stop the application's logging.
        catch (Exception e)
#pragma warning restore CA1031
        {
            // Only a later drain by another process needs it; it then falls back to the labels the path implies.
            LogPersistEventSource.Log.OperationFailed(wal.Directory, "saving " + StreamDescription.FileName, e);
        }
    }

    /// <summary>Appends an encoded entry; false when it was dropped (counted by the WAL). Never throws for I/O faults.</summary>
    public bool Append(ReadOnlySpan<byte> payload) => Wal.Append(payload);

    /// <summary>
    /// Reports a log call that could not be encoded: counted as dropped (<c>unencodable</c>), reported
    /// to the EventSource, and announced in the stream by a marker entry. Never throws.
    /// </summary>
    public void EntryFailed(string category, Exception error)
    {
        try
        {
            Wal.Metrics.RecordsDropped(WalDropReason.Unencodable, 1);
            LogPersistEventSource.Log.EntryFailed(category, error.GetType().Name + ": " + error.Message);
            Append(new Entries.EntryEncoder(256).Encode(Markers.Unencodable(Entries.LogEntry.NowNs(Time), category, error)));
        }
        catch (Exception)
        {
            // Reporting a failure must not become one.
        }
    }

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for Loki to acknowledge everything appended before the
    /// call. True when it did, or when there is no Loki to ship to. Never throws.
    /// </summary>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Shipper is null || Volatile.Read(ref _stopped) != 0
            ? Task.FromResult(Shipper is null)
            : Shipper.FlushAsync(timeout, cancellationToken);

    /// <summary>
    /// Ships what it can until the deadline, stops shipping and closes the WAL; what was not
    /// acknowledged stays in the WAL for the next start. Later appends are dropped and counted.
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }

        PipelineRegistry.Remove(this);
        var flushed = true;
        if (Shipper is not null)
        {
            flushed = await Shipper.StopAsync(timeout).ConfigureAwait(false);
            await Shipper.DisposeAsync().ConfigureAwait(false);
        }

        // Closing syncs the WAL in the Interval and Always modes; PageCache promises survival of the
        // process only, so it adds no unbounded device sync to a stop that has a deadline.
        Wal.Dispose();
        return flushed;
    }

    public async ValueTask DisposeAsync() => await StopAsync(_flushTimeout).ConfigureAwait(false);

    public void Dispose() => StopAsync(_flushTimeout).GetAwaiter().GetResult();
}
