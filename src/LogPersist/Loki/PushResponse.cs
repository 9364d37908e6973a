namespace LogPersist.Loki;

/// <summary>What one push attempt got back. <see cref="Status"/> is 0 when no HTTP answer came (refused, reset, DNS).</summary>
internal readonly record struct PushResponse(int Status, string Body, TimeSpan? RetryAfter, string? TransportError)
{
    public const int MaxBodyChars = 64 * 1024;

    public static PushResponse Transport(string error) => new(0, "", null, error);

    /// <summary>The status class used in metrics: <c>2xx</c>, <c>4xx</c>, <c>5xx</c> or <c>transport</c>.</summary>
    public string StatusClass => Status switch
    {
        0 => "transport",
        < 200 => "1xx",
        < 300 => "2xx",
        < 400 => "3xx",
        < 500 => "4xx",
        _ => "5xx",
    };
}

/// <summary>An encoded push body with its headers; its buffer is returned to its pool on dispose.</summary>
internal sealed class PushContent : IDisposable
{
    private readonly System.Buffers.ArrayPool<byte>? _pool;
    private byte[]? _buffer;

    public PushContent(byte[] buffer, int length, string contentType, string? contentEncoding, int entries, System.Buffers.ArrayPool<byte>? pool = null)
    {
        _pool = pool;
        _buffer = buffer;
        Length = length;
        ContentType = contentType;
        ContentEncoding = contentEncoding;
        Entries = entries;
    }

    public ReadOnlyMemory<byte> Body => _buffer is null ? throw new ObjectDisposedException(nameof(PushContent)) : _buffer.AsMemory(0, Length);

    public int Length { get; }

    public string ContentType { get; }

    public string? ContentEncoding { get; }

    public int Entries { get; }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            _pool?.Return(buffer);
        }
    }
}
