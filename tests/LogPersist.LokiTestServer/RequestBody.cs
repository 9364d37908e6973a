using System.Buffers;

namespace LogPersist.LokiTestServer;

/// <summary>
/// A request body read in full into a pooled buffer. Bytes past <c>keepAtMost</c> are read and counted but not
/// kept, so a client sending an oversized body still gets the answer rather than a reset.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    private RequestBody(byte[] buffer, int length, long totalBytes)
    {
        _buffer = buffer;
        _length = length;
        TotalBytes = totalBytes;
    }

    /// <summary>The kept bytes; the whole body unless <see cref="TotalBytes"/> is larger.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>The body's length as sent.</summary>
    public long TotalBytes { get; }

    public static async Task<RequestBody> ReadAsync(HttpRequest request, long keepAtMost, CancellationToken cancellationToken)
    {
        var initial = request.ContentLength is long declared && declared > 0
            ? (int)Math.Min(declared, Math.Min(keepAtMost, Array.MaxLength))
            : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 1));
        var kept = 0;
        long total = 0;
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                if (kept == buffer.Length && kept < keepAtMost && kept < Array.MaxLength)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Min((long)buffer.Length * 2, keepAtMost), Array.MaxLength));
                    buffer.AsSpan(0, kept).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var intoBuffer = kept < buffer.Length && kept < keepAtMost;
                var target = intoBuffer
                    ? buffer.AsMemory(kept, (int)Math.Min(buffer.Length - kept, keepAtMost - kept))
                    : (scratch ??= new byte[16 * 1024]);
                var read = await request.Body.ReadAsync(target, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return new RequestBody(buffer, kept, total);
                }

                total += read;
                if (intoBuffer)
                {
                    kept += read;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

}
