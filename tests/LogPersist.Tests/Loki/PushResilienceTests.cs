using System.Threading.Channels;
using LogPersist.Loki;
using LogPersist.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Loki;

public class PushResilienceTests
{
    private readonly TimerReportingTime _time = new();
    private readonly Channel<TimeSpan> _retries = Channel.CreateUnbounded<TimeSpan>();

    /// <summary>A fake clock that reports each timer created, so a test advances time only once the retry's delay is waiting on it.</summary>
    private sealed class TimerReportingTime : FakeTimeProvider
    {
        public Channel<TimeSpan> Timers { get; } = Channel.CreateUnbounded<TimeSpan>();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Timers.Writer.TryWrite(dueTime);
            return timer;
        }
    }

    private (PushResilience Pipeline, LokiClient Client) Create(ScriptedHandler handler, TimeSpan? maxDelay = null, TimeSpan? breakDuration = null)
    {
        var options = new LokiClientOptions
        {
            Endpoint = new Uri("http://127.0.0.1:1/"),
            RetryBaseDelay = TimeSpan.FromSeconds(1),
            RetryMaxDelay = maxDelay ?? TimeSpan.FromSeconds(8),
            CircuitBreakDuration = breakDuration ?? TimeSpan.FromSeconds(5),
            // Far beyond every delay here, so the attempt timeout's timer is never mistaken for a retry delay.
            AttemptTimeout = TimeSpan.FromDays(1),
            TimeProvider = _time,
        };
        var client = new LokiClient(options, handler);
        return (new PushResilience(client, options, (_, delay) => _retries.Writer.TryWrite(delay)), client);
    }

    private static PushContent Content() => new(new byte[16], 1, PushEncoder.ProtobufContentType, null, 1);

    /// <summary>The next retry's delay, once its timer is registered with the fake clock.</summary>
    private async Task<TimeSpan> NextRetryAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var delay = await _retries.Reader.ReadAsync(timeout.Token);
        // Timers are created with whole milliseconds; other timers (no due time) are not the delay.
        while (delay >= TimeSpan.FromMilliseconds(1)
               && (await _time.Timers.Reader.ReadAsync(timeout.Token) - delay).Duration() >= TimeSpan.FromMilliseconds(1))
        {
        }

        return delay;
    }

    [Fact]
    public async Task Retry_after_on_429_and_503_sets_the_delay_before_the_next_attempt()
    {
        var handler = new ScriptedHandler(
            ScriptedHandler.Status(429, TimeSpan.FromSeconds(7)),
            ScriptedHandler.Status(503, TimeSpan.FromSeconds(3)),
            ScriptedHandler.Status(204));
        var (pipeline, client) = Create(handler);
        using var _ = client;

        var send = pipeline.SendAsync(Content(), CancellationToken.None).AsTask();

        Assert.Equal(TimeSpan.FromSeconds(7), await NextRetryAsync());
        _time.Advance(TimeSpan.FromSeconds(7) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, handler.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromSeconds(3), await NextRetryAsync());
        Assert.Equal(2, handler.Calls);
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(204, (await send).Status);
        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task Backoff_grows_but_never_exceeds_the_maximum_delay()
    {
        var handler = new ScriptedHandler(ScriptedHandler.Status(500));
        var (pipeline, client) = Create(handler, maxDelay: TimeSpan.FromSeconds(4), breakDuration: TimeSpan.FromMilliseconds(500));
        using var _ = client;
        using var stop = new CancellationTokenSource();

        var send = pipeline.SendAsync(Content(), stop.Token).AsTask();
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 12; i++)
        {
            var delay = await NextRetryAsync();
            delays.Add(delay);
            _time.Advance(delay);
        }

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, TimeSpan.FromSeconds(4)));
        Assert.Contains(delays, d => d > TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Authentication_failure_waits_the_longest_delay_and_keeps_retrying()
    {
        var handler = new ScriptedHandler(ScriptedHandler.Status(401, body: "no org id"), ScriptedHandler.Status(204));
        var (pipeline, client) = Create(handler, maxDelay: TimeSpan.FromSeconds(8));
        using var _ = client;

        var send = pipeline.SendAsync(Content(), CancellationToken.None).AsTask();

        Assert.Equal(TimeSpan.FromSeconds(8), await NextRetryAsync());
        _time.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal(204, (await send).Status);
    }

    [Fact]
    public async Task Open_circuit_makes_no_requests_until_the_break_is_over()
    {
        var handler = new ScriptedHandler(ScriptedHandler.Refused(), ScriptedHandler.Refused(), ScriptedHandler.Refused(), ScriptedHandler.Status(204));
        var (pipeline, client) = Create(handler, maxDelay: TimeSpan.FromSeconds(1), breakDuration: TimeSpan.FromSeconds(30));
        using var _ = client;

        var send = pipeline.SendAsync(Content(), CancellationToken.None).AsTask();
        var elapsed = TimeSpan.Zero;
        while (handler.Calls < 4)
        {
            var delay = await NextRetryAsync();
            if (handler.Calls == 3)
            {
                // The circuit opened after the third refused connection: attempts in the break cost nothing.
                Assert.True(elapsed < TimeSpan.FromSeconds(40), "no attempt went through after the break");
            }

            _time.Advance(delay);
            elapsed += delay;
        }

        Assert.Equal(204, (await send).Status);
        Assert.True(elapsed >= TimeSpan.FromSeconds(30), $"an attempt reached the endpoint after {elapsed} of a 30 s break");
    }

    [Fact]
    public async Task Retry_after_zero_or_in_the_past_never_removes_the_backoff()
    {
        var handler = new ScriptedHandler(
            ScriptedHandler.Status(429, TimeSpan.Zero),
            _ =>
            {
                var response = new HttpResponseMessage((System.Net.HttpStatusCode)503);
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddHours(-1));
                return response;
            },
            ScriptedHandler.Status(204));
        var (pipeline, client) = Create(handler);
        using var _ = client;

        var send = pipeline.SendAsync(Content(), CancellationToken.None).AsTask();

        var first = await NextRetryAsync();
        Assert.True(first >= TimeSpan.FromSeconds(1), $"Retry-After: 0 waited {first}, below the 1 s base delay");
        _time.Advance(first);
        var second = await NextRetryAsync();
        Assert.True(second >= TimeSpan.FromSeconds(1), $"a Retry-After date in the past waited {second}");
        _time.Advance(second);
        Assert.Equal(204, (await send).Status);
    }

    [Fact]
    public async Task A_260_is_retried_at_the_time_it_names()
    {
        var until = _time.GetUtcNow().AddSeconds(5).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var handler = new ScriptedHandler(
            ScriptedHandler.Status(260, body: $"ingestion blocked for user 'fake' until '{until}' with status code '260'"),
            ScriptedHandler.Status(204));
        var (pipeline, client) = Create(handler);
        using var _ = client;

        var send = pipeline.SendAsync(Content(), CancellationToken.None).AsTask();

        var delay = await NextRetryAsync();
        Assert.InRange(delay, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5));
        _time.Advance(delay);
        Assert.Equal(204, (await send).Status);
    }

    [Fact]
    public async Task A_request_of_several_entries_that_keeps_getting_429_is_handed_back_to_be_split()
    {
        var handler = new ScriptedHandler(ScriptedHandler.Status(429));
        var (pipeline, client) = Create(handler);
        using var _ = client;

        var send = pipeline.SendAsync(new PushContent(new byte[16], 1, PushEncoder.ProtobufContentType, null, entries: 2), CancellationToken.None).AsTask();
        for (var i = 1; i < PushResilience.SplitAfterThrottles; i++)
        {
            _time.Advance(await NextRetryAsync());
        }

        Assert.Equal(429, (await send).Status);
        Assert.Equal(PushResilience.SplitAfterThrottles, handler.Calls);
    }

    [Fact]
    public async Task An_endless_error_body_is_read_to_64_KiB_and_no_further()
    {
        var endless = new EndlessStream();
        var handler = new ScriptedHandler(_ => new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest) { Content = new StreamContent(endless) });
        var (_, client) = Create(handler);
        using var __ = client;

        var response = await client.SendAsync(Content(), CancellationToken.None);

        Assert.Equal(400, response.Status);
        Assert.True(response.BodyTruncated);
        Assert.Equal(PushResponse.MaxBodyBytes, response.Body.Length);
        Assert.InRange(endless.BytesRead, PushResponse.MaxBodyBytes, 2 * PushResponse.MaxBodyBytes);
    }

    /// <summary>A body of 'x' that never ends, counting what was read of it.</summary>
    private sealed class EndlessStream : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            buffer.AsSpan(offset, count).Fill((byte)'x');
            BytesRead += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
