using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using LogPersist.LokiTestServer.Proto;
using Microsoft.Extensions.Primitives;

namespace LogPersist.LokiTestServer;

/// <summary>
/// <c>POST /loki/api/v1/push</c>: answers a scripted response if one is queued, otherwise decodes, validates and
/// stores the push the way Loki does, and records the request.
/// </summary>
internal sealed class PushHandler(LokiTestServerOptions options, EntryStore store, RequestLog log, ScriptQueue scripts)
{
    private const string TenantHeader = "X-Scope-OrgID";
    private const string DefaultTenant = "fake";

    private readonly EntryValidator _validator = new(options);

    public async Task HandleAsync(HttpContext context, CancellationToken stopping)
    {
        var request = context.Request;
        using var body = await RequestBody.ReadAsync(request, options.MaxBodyBytes ?? long.MaxValue, context.RequestAborted).ConfigureAwait(false);

        if (scripts.TryDequeue(out var script))
        {
            switch (script)
            {
                case ScriptedResponse.StatusAnswer scripted:
                    SetRetryAfter(context.Response, scripted);
                    await AnswerAsync(context, new HttpAnswer(scripted.Code, scripted.Body), body, new Outcome(), newline: false).ConfigureAwait(false);
                    return;
                case ScriptedResponse.ResetAnswer:
                    Reset(context, body);
                    return;
                case ScriptedResponse.StallAnswer stall:
                    if (!await StallAsync(stall.Release, context.RequestAborted, stopping).ConfigureAwait(false))
                    {
                        Reset(context, body);
                        return;
                    }

                    break;
            }
        }

        var outcome = new Outcome();
        var answer = Process(request, body, outcome);
        await AnswerAsync(context, answer, body, outcome, newline: true).ConfigureAwait(false);
    }

    private HttpAnswer Process(HttpRequest request, RequestBody body, Outcome outcome)
    {
        if (options.RequiredAuthorization is { } required && request.Headers.Authorization.ToString() != required)
        {
            return new(StatusCodes.Status401Unauthorized, LokiMessages.Unauthorized);
        }

        var tenant = request.Headers[TenantHeader].ToString();
        if (tenant.Length == 0)
        {
            if (options.RequireTenant)
            {
                return new(StatusCodes.Status401Unauthorized, LokiMessages.NoOrgId);
            }

            tenant = DefaultTenant;
        }

        if (body.TotalBytes > options.MaxBodyBytes)
        {
            return new(StatusCodes.Status413RequestEntityTooLarge, LokiMessages.RequestBodyTooLarge(body.TotalBytes, options.MaxBodyBytes.Value));
        }

        var decoded = ContentDecoding.TryDecode(request.Headers.ContentEncoding.ToString(), body.Memory, out var encodingError);
        if (decoded is not { } content)
        {
            return HttpAnswer.BadRequest(encodingError!);
        }

        if (string.IsNullOrWhiteSpace(request.ContentType))
        {
            return HttpAnswer.BadRequest(LokiMessages.NoMediaType);
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) || string.IsNullOrEmpty(mediaType.MediaType))
        {
            return HttpAnswer.BadRequest(LokiMessages.BadMediaType);
        }

        // Like Loki, anything but JSON is taken for snappy-compressed protobuf.
        PushRequest? push;
        if (string.Equals(mediaType.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            push = JsonPushDecoder.TryDecode(content, out var jsonError);
            if (push is null)
            {
                return HttpAnswer.BadRequest(jsonError!);
            }

            if (push.CalculateSize() is var size && size > options.MaxDecompressedBytes)
            {
                return new(StatusCodes.Status500InternalServerError, LokiMessages.GrpcLargerThanMax(size, options.MaxDecompressedBytes));
            }
        }
        else
        {
            push = ProtobufPushDecoder.TryDecode(content.Span, options.MaxDecompressedBytes, out var failure);
            if (push is null)
            {
                return failure;
            }
        }

        outcome.Streams = push.Streams.Count;
        outcome.Entries = push.Streams.Sum(stream => stream.Entries.Count);
        if (outcome.Entries == 0)
        {
            return new(StatusCodes.Status422UnprocessableEntity, LokiMessages.MissingStreams);
        }

        var labelSets = new LabelSet[push.Streams.Count];
        for (var i = 0; i < labelSets.Length; i++)
        {
            if (!LabelSet.TryParse(push.Streams[i].Labels, out var labels, out var labelError))
            {
                return HttpAnswer.BadRequest(labelError);
            }

            labelSets[i] = labels;
        }

        return Store(push, labelSets, tenant, outcome);
    }

    private HttpAnswer Store(PushRequest push, LabelSet[] labelSets, string tenant, Outcome outcome)
    {
        var window = _validator.WindowAt(options.TimeProvider.GetUtcNow());
        var outOfOrderWindowNs = options.OutOfOrderWindow > TimeSpan.Zero ? options.OutOfOrderWindow.Ticks * 100 : 0;
        var refusals = new List<Refusal>();
        var accepted = new List<EntryStore.Candidate>();
        for (var i = 0; i < labelSets.Length; i++)
        {
            var stream = labelSets[i].Canonical;
            accepted.Clear();
            foreach (var entry in push.Streams[i].Entries)
            {
                var ns = UnixNanos.From(entry.Timestamp);
                if (_validator.Refuse(window, stream, ns, entry.Line, entry.StructuredMetadata.Count) is { } reason)
                {
                    refusals.Add(new Refusal(ns, reason, stream));
                    continue;
                }

                accepted.Add(new EntryStore.Candidate(ns, entry.Line, Metadata(entry)));
            }

            store.Append(tenant, labelSets[i], accepted, outOfOrderWindowNs, refusals);
        }

        outcome.Refused = refusals.Count;
        if (refusals.Count == 0)
        {
            return new(StatusCodes.Status204NoContent, "");
        }

        var text = new StringBuilder();
        foreach (var refusal in refusals)
        {
            text.Append(LokiMessages.IgnoredEntryLine(refusal.TimestampNs, refusal.Reason, refusal.Stream)).Append('\n');
        }

        text.Append(LokiMessages.TotalIgnored(refusals.Count, outcome.Entries));
        return HttpAnswer.BadRequest(text.ToString());
    }

    private static KeyValuePair<string, string>[] Metadata(EntryAdapter entry)
    {
        if (entry.StructuredMetadata.Count == 0)
        {
            return [];
        }

        var pairs = new KeyValuePair<string, string>[entry.StructuredMetadata.Count];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = new(entry.StructuredMetadata[i].Name, entry.StructuredMetadata[i].Value);
        }

        return pairs;
    }

    private static async Task<bool> StallAsync(Task release, CancellationToken aborted, CancellationToken stopping)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping);
        try
        {
            await release.WaitAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (either.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception)
        {
            // A faulted release still releases.
        }

        return !either.IsCancellationRequested;
    }

    private static void SetRetryAfter(HttpResponse response, ScriptedResponse.StatusAnswer answer)
    {
        if (answer.RetryAfter is { } delay)
        {
            response.Headers.RetryAfter = ((long)Math.Ceiling(Math.Max(delay.TotalSeconds, 0))).ToString(CultureInfo.InvariantCulture);
        }
        else if (answer.RetryAfterDate is { } date)
        {
            response.Headers.RetryAfter = date.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture);
        }
    }

    private void Reset(HttpContext context, RequestBody body)
    {
        log.Add(Record(context.Request, 0, "", body, new Outcome()));
        context.Abort();
    }

    private async Task AnswerAsync(HttpContext context, HttpAnswer answer, RequestBody body, Outcome outcome, bool newline)
    {
        // Go's http.Error ends the body with a newline; a scripted body is sent exactly as given.
        var text = answer.Body.Length > 0 && newline ? answer.Body + "\n" : answer.Body;
        log.Add(Record(context.Request, answer.Status, text, body, outcome));
        context.Response.StatusCode = answer.Status;
        if (text.Length > 0)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static ReceivedRequest Record(HttpRequest request, int status, string responseBody, RequestBody body, Outcome outcome)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
        }

        return new ReceivedRequest(
            status,
            NullIfEmpty(request.Headers.ContentType),
            NullIfEmpty(request.Headers.ContentEncoding),
            NullIfEmpty(request.Headers[TenantHeader]),
            NullIfEmpty(request.Headers.Authorization),
            headers,
            body.TotalBytes,
            outcome.Streams,
            outcome.Entries,
            outcome.Refused,
            responseBody);
    }

    private static string? NullIfEmpty(StringValues values) => values.Count == 0 ? null : values.ToString();

    /// <summary>What processing found, for the request record.</summary>
    private sealed class Outcome
    {
        public int Streams { get; set; }

        public int Entries { get; set; }

        public int Refused { get; set; }
    }
}
