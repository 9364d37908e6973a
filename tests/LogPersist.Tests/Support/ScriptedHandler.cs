using System.Net;
using System.Threading.Channels;

namespace LogPersist.Tests.Support;

/// <summary>An HTTP handler that answers each request with the next scripted answer (a status, or a thrown transport fault) and reports every call.</summary>
internal sealed class ScriptedHandler(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
{
    private readonly Channel<int> _calls = Channel.CreateUnbounded<int>();
    private int _count;

    public int Calls => Volatile.Read(ref _count);

    public static Func<HttpRequestMessage, HttpResponseMessage> Status(int status, TimeSpan? retryAfter = null, string body = "") => _ =>
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body) };
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(delay);
        }

        return response;
    };

    public static Func<HttpRequestMessage, HttpResponseMessage> Refused() => _ => throw new HttpRequestException("Connection refused (127.0.0.1:1)");

    /// <summary>Completes when the handler has been called <paramref name="count"/> times in all.</summary>
    public async Task WaitForCallsAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Calls < count)
        {
            await _calls.Reader.ReadAsync(timeout.Token);
        }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var index = Interlocked.Increment(ref _count) - 1;
        try
        {
            return Task.FromResult(answers[Math.Min(index, answers.Length - 1)](request));
        }
        finally
        {
            _calls.Writer.TryWrite(index);
        }
    }
}
