using System.Net;
using System.Net.Http.Headers;
using LogPersist.Loki;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Loki;

public sealed class LokiClientTests
{
    [Fact]
    public async Task A_Retry_After_date_is_turned_into_a_delay_by_the_injected_clock()
    {
        // Far from the machine's own clock: a delay measured against the wall clock would be years off.
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 5, 1, 12, 0, 0, TimeSpan.Zero));
        using var handler = new DateAnswer(time.GetUtcNow() + TimeSpan.FromSeconds(90));
        using var client = new LokiClient(new LokiClientOptions { Endpoint = new Uri("http://loki.invalid/"), TimeProvider = time }, handler);
        using var content = new PushContent([1, 2, 3], 3, "application/x-protobuf", "snappy", 1);

        var response = await client.SendAsync(content, CancellationToken.None);

        Assert.Equal(429, response.Status);
        Assert.Equal(TimeSpan.FromSeconds(90), response.RetryAfter);
    }

    [Fact]
    public async Task A_Retry_After_date_already_past_on_the_injected_clock_means_no_wait()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 5, 1, 12, 0, 0, TimeSpan.Zero));
        using var handler = new DateAnswer(time.GetUtcNow() - TimeSpan.FromMinutes(5));
        using var client = new LokiClient(new LokiClientOptions { Endpoint = new Uri("http://loki.invalid/"), TimeProvider = time }, handler);
        using var content = new PushContent([1, 2, 3], 3, "application/x-protobuf", "snappy", 1);

        var response = await client.SendAsync(content, CancellationToken.None);

        Assert.Equal(TimeSpan.Zero, response.RetryAfter);
    }

    [Fact]
    public async Task The_bearer_token_file_is_read_through_the_injected_file_system_and_a_failed_read_keeps_the_last_token()
    {
        using var dir = new TempDirectory();
        var tokenFile = Path.Combine(dir.Path, "token");
        await File.WriteAllTextAsync(tokenFile, "first-token\n");
        var fileSystem = new FaultyFileSystem();
        using var handler = new Recorder();
        using var client = new LokiClient(
            new LokiClientOptions { Endpoint = new Uri("http://loki.invalid/"), BearerTokenFile = tokenFile, FileSystem = fileSystem },
            handler);

        using (var content = new PushContent([1], 1, "application/x-protobuf", "snappy", 1))
        {
            await client.SendAsync(content, CancellationToken.None);
        }

        // The token rotates, but reading it fails (a projected volume mid-update): the last one read is sent.
        await File.WriteAllTextAsync(tokenFile, "second-token\n");
        File.SetLastWriteTimeUtc(tokenFile, DateTime.UtcNow.AddSeconds(5));
        fileSystem.Fault = path => path == tokenFile ? new IOException("busy") : null;
        using (var content = new PushContent([1], 1, "application/x-protobuf", "snappy", 1))
        {
            await client.SendAsync(content, CancellationToken.None);
        }

        // Readable again: the rotated token is picked up.
        fileSystem.Fault = null;
        using (var content = new PushContent([1], 1, "application/x-protobuf", "snappy", 1))
        {
            await client.SendAsync(content, CancellationToken.None);
        }

        Assert.Equal(["Bearer first-token", "Bearer first-token", "Bearer second-token"], handler.Authorizations);
        Assert.True(fileSystem.FailedOpens >= 1, "the failed read went through the injected file system");
    }

    /// <summary>Records the Authorization header of each request and answers 204.</summary>
    private sealed class Recorder : HttpMessageHandler
    {
        public List<string?> Authorizations { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Authorizations)
            {
                Authorizations.Add(request.Headers.Authorization?.ToString());
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NoContent));
        }
    }

    /// <summary>Answers 429 with a <c>Retry-After</c> that names a date, not a delay.</summary>
    private sealed class DateAnswer(DateTimeOffset until) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("slow down") };
            response.Headers.RetryAfter = new RetryConditionHeaderValue(until);
            return Task.FromResult(response);
        }
    }
}
