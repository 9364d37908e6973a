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
/// replaces it, but never shortens the wait below the base delay; a 260 waits until the time it names;
/// an authentication or configuration failure waits the longest delay. While the circuit is open no
/// request is made at all. Only cancellation ends the retries, except that a request of several
/// entries answered 429 <see cref="SplitAfterThrottles"/> times in a row is handed back to be split
/// (a batch larger than the tenant's burst would never pass), and a 429 for a stream's rate is handed
/// back at once, for the sender to pace that stream. When the client is reconfigured (a new
/// URL or credentials), a push waiting out its backoff is tried again at once, with a fresh circuit;
/// an attempt in flight is never cut, so an answer already on its way still counts.
/// </summary>
internal sealed class PushResilience
{
    public const int SplitAfterThrottles = 3;

    private static readonly ResiliencePropertyKey<int> EntriesKey = new("logpersist.entries");
    private static readonly ResiliencePropertyKey<Attempts> AttemptsKey = new("logpersist.attempts");
    private readonly LokiClient _client;
    private readonly LokiClientOptions _options;
    private readonly Action<PushResponse?, TimeSpan>? _onRetry;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Attempts, byte> _active = new();
    private ResiliencePipeline<PushResponse> _pipeline;

    public PushResilience(LokiClient client, LokiClientOptions options, Action<PushResponse?, TimeSpan>? onRetry = null)
    {
        _client = client;
        _options = options;
        _onRetry = onRetry;
        _pipeline = Build(client, options, onRetry);
        client.Reconfigured += OnReconfigured;
    }

    /// <summary>Pushes waiting out a backoff start again now, through a new circuit: what failed was the old endpoint or credentials.</summary>
    private void OnReconfigured()
    {
        Volatile.Write(ref _pipeline, Build(_client, _options, _onRetry));
        foreach (var attempts in _active.Keys)
        {
            attempts.Interrupt();
        }
    }

    private static ResiliencePipeline<PushResponse> Build(LokiClient client, LokiClientOptions options, Action<PushResponse?, TimeSpan>? onRetry)
    {
        return new ResiliencePipelineBuilder<PushResponse> { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions<PushResponse>
            {
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: BrokenCircuitException or TimeoutRejectedException } => true,
                    // A stream over its rate goes back at once, to be paced (StreamPacing) rather than retried blindly.
                    { Exception: null, Result.Status: 429 } when ResponseClassifier.HeldStream(args.Outcome.Result.Body) == "stream_rate" => false,
                    { Exception: null, Result.Status: 429 } when args.AttemptNumber + 1 >= SplitAfterThrottles
                        && (args.Context.Properties.GetValue(EntriesKey, 1) > 1 || ResponseClassifier.HeldStream(args.Outcome.Result.Body) is not null) => false,
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
                    if (args.Context.Properties.TryGetValue(AttemptsKey, out var attempts))
                    {
                        attempts.Waiting();
                    }

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
    public async ValueTask<PushResponse> SendAsync(PushContent content, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var attempts = new Attempts(cancellationToken);
            _active.TryAdd(attempts, 0);
            var context = ResilienceContextPool.Shared.Get(attempts.Token);
            try
            {
                context.Properties.Set(EntriesKey, content.Entries);
                context.Properties.Set(AttemptsKey, attempts);
                return await Volatile.Read(ref _pipeline).ExecuteAsync(
                    static (context, state) =>
                    {
                        state.Attempts.Sending();
                        return new ValueTask<PushResponse>(state.Client.SendAsync(state.Content, context.CancellationToken));
                    },
                    context,
                    (Client: _client, Content: content, Attempts: attempts)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && attempts.Interrupted)
            {
                // The client was reconfigured while this push waited out its backoff: send it again now.
            }
            finally
            {
                _active.TryRemove(attempts, out _);
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    /// <summary>
    /// One push's attempts: whether it is waiting out a backoff (which a reconfiguration cuts short)
    /// or has a request in flight (which it never cuts: that request's answer still counts).
    /// </summary>
    private sealed class Attempts : IDisposable
    {
        private readonly CancellationTokenSource _cancel;
        private readonly object _lock = new();
        private bool _waiting;
        private bool _changed;

        public Attempts(CancellationToken stop) => _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);

        public CancellationToken Token => _cancel.Token;

        public bool Interrupted { get; private set; }

        public void Sending()
        {
            lock (_lock)
            {
                _waiting = false;
                _changed = false;
            }
        }

        /// <summary>Called before a backoff: cut it at once when the client changed during the attempt that just failed.</summary>
        public void Waiting()
        {
            lock (_lock)
            {
                _waiting = true;
                if (_changed)
                {
                    Cancel();
                }
            }
        }

        public void Interrupt()
        {
            lock (_lock)
            {
                _changed = true;
                if (_waiting)
                {
                    Cancel();
                }
            }
        }

        private void Cancel()
        {
            Interrupted = true;
            _cancel.Cancel();
        }

        public void Dispose() => _cancel.Dispose();
    }

    private static TimeSpan? ChooseDelay(Outcome<PushResponse> outcome, LokiClientOptions options)
    {
        if (outcome.Exception is not null)
        {
            return null;
        }

        var response = outcome.Result;
        if (response.Status is 429 or 503 && response.RetryAfter is { } retryAfter)
        {
            return Within(retryAfter, options);
        }

        var classification = ResponseClassifier.Classify(response, []);
        return classification.Verdict switch
        {
            PushVerdict.Misconfigured => options.RetryMaxDelay,
            PushVerdict.Blocked when classification.BlockedUntil is { } until => Within(until - options.TimeProvider.GetUtcNow(), options),
            _ => null,
        };
    }

    /// <summary>A server's wait, never below the base delay (a <c>Retry-After: 0</c> must not remove the backoff) nor above the limit.</summary>
    private static TimeSpan Within(TimeSpan wait, LokiClientOptions options) =>
        wait < options.RetryBaseDelay ? options.RetryBaseDelay : wait > options.RetryAfterLimit ? options.RetryAfterLimit : wait;

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
