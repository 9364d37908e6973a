namespace LogPersist.LokiTestServer;

/// <summary>A status and a text body to answer with.</summary>
internal readonly record struct HttpAnswer(int Status, string Body)
{
    public static HttpAnswer BadRequest(string body) => new(StatusCodes.Status400BadRequest, body);
}
