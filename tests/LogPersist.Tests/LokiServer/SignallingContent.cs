using System.Net;

namespace LogPersist.Tests.LokiServer;

/// <summary>Content that reports when its bytes have been handed to the connection.</summary>
internal sealed class SignallingContent : HttpContent
{
    private readonly HttpContent _inner;
    private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SignallingContent(HttpContent inner)
    {
        _inner = inner;
        foreach (var (name, values) in inner.Headers)
        {
            Headers.TryAddWithoutValidation(name, values);
        }
    }

    public Task Sent => _sent.Task;

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await _inner.CopyToAsync(stream);
        await stream.FlushAsync();
        _sent.TrySetResult();
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _inner.Headers.ContentLength ?? -1;
        return length >= 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
