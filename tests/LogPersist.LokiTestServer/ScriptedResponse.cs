namespace LogPersist.LokiTestServer;

/// <summary>
/// An answer given to the next push request instead of processing it (see <see cref="LokiTestServer.Enqueue"/>).
/// Scripted answers are used in the order they were enqueued, one per push request; the pushed entries are not stored
/// (except after a <see cref="Stall"/>, which processes the push normally).
/// </summary>
public abstract record ScriptedResponse
{
    private protected ScriptedResponse()
    {
    }

    /// <summary>Answers <paramref name="status"/> with <paramref name="body"/>.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="body">The response body (text/plain), sent exactly as given.</param>
    /// <param name="retryAfter">Sends Retry-After as delta-seconds (rounded up; zero or less sends <c>0</c>).</param>
    /// <param name="retryAfterDate">Sends Retry-After as an HTTP date (a past one too); ignored when <paramref name="retryAfter"/> is set.</param>
    public static ScriptedResponse Status(int status, string body = "", TimeSpan? retryAfter = null, DateTimeOffset? retryAfterDate = null) =>
        new StatusAnswer(status, body, [], retryAfter, retryAfterDate);

    /// <summary>
    /// Answers <paramref name="status"/> with <paramref name="body"/> and exactly these headers, e.g.
    /// <c>("Content-Type", "text/html")</c>, <c>("Location", "/login")</c> or a Retry-After of any text. Without a
    /// Content-Type among them a non-empty body is sent as text/plain.
    /// </summary>
    public static ScriptedResponse Answer(int status, string body, params (string Name, string Value)[] headers)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(headers);
        return new StatusAnswer(status, body, headers, null, null);
    }

    /// <summary>
    /// Redirects with <paramref name="status"/> (301, 302, 303, 307, 308) to <paramref name="location"/>, absolute or
    /// relative, with no body. <c>Redirect(302, "/login")</c> sends a client that follows it to the server's login page.
    /// </summary>
    public static ScriptedResponse Redirect(int status, string location)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        return new StatusAnswer(status, "", [("Location", location)], null, null);
    }

    /// <summary>
    /// Answers <paramref name="status"/> with a body of <paramref name="bytes"/> bytes of text generated while it is sent,
    /// never held in memory, so a test can offer a client a 300 MB error body. Sending stops when the client goes away;
    /// <see cref="LokiTestServer.GeneratedBodyBytesSent"/> counts what was written.
    /// </summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="bytes">The body's length.</param>
    /// <param name="contentType">The Content-Type header.</param>
    /// <param name="declareLength">Sends Content-Length; false sends the body chunked, its length unknown to the client.</param>
    public static ScriptedResponse GeneratedBody(int status, long bytes, string contentType = "text/plain; charset=utf-8", bool declareLength = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        return new GeneratedAnswer(status, bytes, contentType, declareLength);
    }

    /// <summary>Holds the request open until <paramref name="release"/> completes (or the client gives up), then processes it normally.</summary>
    public static ScriptedResponse Stall(Task release)
    {
        ArgumentNullException.ThrowIfNull(release);
        return new StallAnswer(release);
    }

    /// <summary>Drops the connection without answering.</summary>
    public static ScriptedResponse Reset() => new ResetAnswer();

    internal sealed record StatusAnswer(int Code, string Body, IReadOnlyList<(string Name, string Value)> Headers, TimeSpan? RetryAfter, DateTimeOffset? RetryAfterDate) : ScriptedResponse;

    internal sealed record GeneratedAnswer(int Code, long Bytes, string ContentType, bool DeclareLength) : ScriptedResponse;

    internal sealed record StallAnswer(Task Release) : ScriptedResponse;

    internal sealed record ResetAnswer : ScriptedResponse;
}
