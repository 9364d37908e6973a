namespace LogPersist.LokiTestServer;

/// <summary>
/// An answer given to the next push request instead of processing it (see <see cref="LokiTestServer.Enqueue"/>).
/// Scripted answers are used in the order they were enqueued, one per push request.
/// </summary>
public abstract record ScriptedResponse
{
    private protected ScriptedResponse()
    {
    }

    /// <summary>Answers <paramref name="status"/> with <paramref name="body"/>; the pushed entries are not stored.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="body">The response body (text/plain).</param>
    /// <param name="retryAfter">Sends Retry-After as delta-seconds (rounded up).</param>
    /// <param name="retryAfterDate">Sends Retry-After as an HTTP date; ignored when <paramref name="retryAfter"/> is set.</param>
    public static ScriptedResponse Status(int status, string body = "", TimeSpan? retryAfter = null, DateTimeOffset? retryAfterDate = null) =>
        new StatusAnswer(status, body, retryAfter, retryAfterDate);

    /// <summary>Holds the request open until <paramref name="release"/> completes (or the client gives up), then processes it normally.</summary>
    public static ScriptedResponse Stall(Task release)
    {
        ArgumentNullException.ThrowIfNull(release);
        return new StallAnswer(release);
    }

    /// <summary>Drops the connection without answering.</summary>
    public static ScriptedResponse Reset() => new ResetAnswer();

    internal sealed record StatusAnswer(int Code, string Body, TimeSpan? RetryAfter, DateTimeOffset? RetryAfterDate) : ScriptedResponse;

    internal sealed record StallAnswer(Task Release) : ScriptedResponse;

    internal sealed record ResetAnswer : ScriptedResponse;
}
