namespace LogPersist.Loki;

/// <summary>
/// What one push attempt got back. <see cref="Status"/> is 0 when no HTTP answer came (refused, reset, DNS).
/// <see cref="Body"/> holds at most <see cref="MaxBodyBytes"/> of the answer (<see cref="BodyTruncated"/> says
/// when there was more); <see cref="LocationHost"/> is the host a redirect pointed to, never followed.
/// </summary>
internal readonly record struct PushResponse(int Status, string Body, TimeSpan? RetryAfter, string? TransportError)
{
    public const int MaxBodyBytes = 64 * 1024;

    public bool BodyTruncated { get; init; }

    public string? LocationHost { get; init; }

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

/// <summary>
/// What <c>/loki/api/v1/status/buildinfo</c> said. <see cref="Answered"/> is false when nothing answered
/// (ask again later); an answer without a version (a gateway's 404, an empty version) is an answer.
/// </summary>
internal readonly record struct BuildInfo(bool Answered, string? Version, string? Problem)
{
    /// <summary>The major version when it is a release's (<c>3.5.0</c>, <c>v2.9.0</c>); null for builds like <c>main-abc1234</c>.</summary>
    public int? Major =>
        Version?.TrimStart('v').Split('.')[0] is { } major
        && int.TryParse(major, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number
            : null;
}
