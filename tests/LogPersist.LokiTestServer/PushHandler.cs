using System.Net.Http.Headers;
using LogPersist.LokiTestServer.Proto;
using Microsoft.Extensions.Primitives;

namespace LogPersist.LokiTestServer;

/// <summary>
/// <c>POST /loki/api/v1/push</c>: answers a scripted response if one is queued, otherwise checks the credentials and the
/// tenant, decodes the body and hands it to the <see cref="Distributor"/>, as Loki's push handler
/// (pkg/distributor/http.go) does; records every request.
/// </summary>
internal sealed class PushHandler(LokiTestServerOptions options, EntryStore store, RequestLog log, ScriptQueue scripts)
{
    private const string TenantHeader = "X-Scope-OrgID";
    private const string DefaultTenant = "fake";

    private readonly Distributor _distributor = new(options, store);
    private long _generatedBytes;

    /// <summary>Bytes of generated bodies written so far.</summary>
    public long GeneratedBytesSent => Interlocked.Read(ref _generatedBytes);

    public async Task HandleAsync(HttpContext context, CancellationToken stopping)
    {
        var request = context.Request;
        using var body = await RequestBody.ReadAsync(request, options.MaxBodyBytes ?? long.MaxValue, context.RequestAborted).ConfigureAwait(false);

        if (scripts.TryDequeue(out var script))
        {
            switch (script)
            {
                case ScriptedResponse.StatusAnswer scripted:
                    log.Add(Record(request, scripted.Code, scripted.Body, body, new Outcome()));
                    await ScriptedAnswerWriter.WriteAsync(context.Response, scripted, context.RequestAborted).ConfigureAwait(false);
                    return;
                case ScriptedResponse.GeneratedAnswer generated:
                    log.Add(Record(request, generated.Code, "", body, new Outcome()));
                    await ScriptedAnswerWriter.WriteAsync(context, generated, bytes => Interlocked.Add(ref _generatedBytes, bytes)).ConfigureAwait(false);
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
        await AnswerAsync(context, answer, body, outcome).ConfigureAwait(false);
    }

    private HttpAnswer Process(HttpRequest request, RequestBody body, Outcome outcome)
    {
        if (options.RequiredAuthorization is { } required && request.Headers.Authorization.ToString() != required)
        {
            return new(StatusCodes.Status401Unauthorized, LokiMessages.Unauthorized);
        }

        var orgId = request.Headers[TenantHeader].ToString();
        if (orgId.Length == 0 && options.RequireTenant)
        {
            return new(StatusCodes.Status401Unauthorized, LokiMessages.NoOrgId);
        }

        var tenant = DefaultTenant;
        if (orgId.Length > 0)
        {
            if (TenantId.Resolve(orgId, options.Dialect, out var tenantError) is not { } resolved)
            {
                return HttpAnswer.BadRequest(tenantError!);
            }

            tenant = resolved;
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
            push = JsonPushDecoder.TryDecode(content, allowMetadata: options.Dialect.AtLeast(2, 9), out var jsonError);
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
        var result = _distributor.Push(tenant, push);
        (outcome.Stored, outcome.Refused, outcome.Duplicates) = (result.Stored, result.Refused, result.Duplicates);
        return result.Answer;
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

    private void Reset(HttpContext context, RequestBody body)
    {
        log.Add(Record(context.Request, 0, "", body, new Outcome()));
        context.Abort();
    }

    private async Task AnswerAsync(HttpContext context, HttpAnswer answer, RequestBody body, Outcome outcome)
    {
        // Go's http.Error ends the body with a newline.
        var text = answer.Body.Length > 0 ? answer.Body + "\n" : answer.Body;
        log.Add(Record(context.Request, answer.Status, text, body, outcome));
        context.Response.StatusCode = answer.Status;
        if (text.Length > 0)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            context.Response.Headers.XContentTypeOptions = "nosniff";
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
            responseBody,
            outcome.Stored,
            outcome.Duplicates);
    }

    private static string? NullIfEmpty(StringValues values) => values.Count == 0 ? null : values.ToString();

    /// <summary>What processing found, for the request record.</summary>
    private sealed class Outcome
    {
        public int Streams { get; set; }

        public int Entries { get; set; }

        public int Refused { get; set; }

        public int Stored { get; set; }

        public int Duplicates { get; set; }
    }
}
