using LogPersist.Diagnostics;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LogPersist.Loki;

/// <summary>
/// The resilience around one push: a per-attempt timeout, inside a circuit breaker, inside a retry
/// that never gives up on a retryable answer (the WAL holds the data). Backoff is exponential with
/// jitter up to <see cref="LokiClientOptions.RetryMaxDelay"/>; a <c>Retry-After</c> on 429 or 503
/// replaces it; an authentication or configuration failure waits the longest delay. While the
/// circuit is open no request is made at all. Only cancellation ends the retries.
/// </summary>
internal sealed class PushPipeline
{
    private readonly ResiliencePipeline<PushResponse> _pipeline;
    private readonly LokiClient _client;

    public PushPipeline(LokiClient client, LokiClientOptions options, Action<PushResponse?, TimeSpan>? onRetry = null)
    {
        _client = client;
        _pipeline = new ResiliencePipelineBuilder<PushResponse> { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions<PushResponse>
            {
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: BrokenCircuitException or TimeoutRejectedException } => true,
                    { Exception: null } => ResponseClassifier.IsRetryable(args.Outcome.Result),
                    _ => false,
                }),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                DelayGenerator = args => ValueTask.FromResult(ChooseDelay(args.Outcome, options)),
                OnRetry = args =>
                {
                    var response = args.Outcome.Exception is null ? args.Outcome.Result : (PushResponse?)null;
                    onRetry?.Invoke(response, args.RetryDelay);
                    LogPersistEventSource.Log.PushRetry(client.PushUri.ToString(), args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<PushResponse>
            {
                // Only failures of the endpoint itself open the circuit; a 429 is the server working as intended.
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: TimeoutRejectedException } => true,
                    { Exception: null } => args.Outcome.Result.Status is 0 or 502 or 503 or 504,
                    _ => false,
                }),
                FailureRatio = 1.0,
                MinimumThroughput = 3,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = options.CircuitBreakDuration,
            })
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    /// <summary>Sends until a final answer (anything not retryable) or until <paramref name="cancellationToken"/> is cancelled.</summary>
    public ValueTask<PushResponse> SendAsync(PushContent content, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(
            static (state, token) => new ValueTask<PushResponse>(state.Client.SendAsync(state.Content, token)),
            (Client: _client, Content: content),
            cancellationToken);

    private static TimeSpan? ChooseDelay(Outcome<PushResponse> outcome, LokiClientOptions options)
    {
        if (outcome.Exception is not null)
        {
            return null;
        }

        var response = outcome.Result;
        if (response.Status is 429 or 503 && response.RetryAfter is { } retryAfter)
        {
            return retryAfter < options.RetryAfterLimit ? retryAfter : options.RetryAfterLimit;
        }

        return ResponseClassifier.Classify(response, 0).Verdict == PushVerdict.Misconfigured ? options.RetryMaxDelay : null;
    }

    private static string Describe(Outcome<PushResponse> outcome) => outcome.Exception switch
    {
        BrokenCircuitException => "circuit open",
        TimeoutRejectedException => "attempt timed out",
        null when outcome.Result.Status == 0 => outcome.Result.TransportError ?? "no answer",
        null => "HTTP " + outcome.Result.Status + (outcome.Result.Body.Length > 0 ? ": " + Truncate(outcome.Result.Body) : ""),
        var e => e.GetType().Name,
    };

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200];
}
