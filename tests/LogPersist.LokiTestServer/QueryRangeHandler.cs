using System.Globalization;
using System.Text.Json;

namespace LogPersist.LokiTestServer;

/// <summary>
/// <c>GET /loki/api/v1/query_range</c> for stream selectors, answering Loki's JSON shape. Defaults as Loki's:
/// <c>limit=100</c>, <c>direction=backward</c>, the last hour; <c>start</c> is inclusive and <c>end</c> exclusive.
/// Structured metadata is merged into each result's <c>stream</c>, one result per distinct label and metadata set.
/// </summary>
internal sealed class QueryRangeHandler(LokiTestServerOptions options, EntryStore store)
{
    private const int MaxEntriesLimitPerQuery = 5000;

    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var tenant = context.Request.Headers["X-Scope-OrgID"].ToString();
        if (tenant.Length == 0)
        {
            if (options.RequireTenant)
            {
                await AnswerTextAsync(context, StatusCodes.Status401Unauthorized, LokiMessages.NoOrgId).ConfigureAwait(false);
                return;
            }

            tenant = "fake";
        }

        if (!LogSelector.TryParse(query["query"], out var selector, out var error))
        {
            await AnswerTextAsync(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        var now = GoTime.ToUnixNs(options.TimeProvider.GetUtcNow());
        if (!TryParseTime(query["end"], now, out var end)
            || !TryParseTime(query["start"], end - TimeSpan.FromHours(1).Ticks * 100, out var start)
            || !int.TryParse(query["limit"].ToString() is { Length: > 0 } l ? l : "100", NumberStyles.None, CultureInfo.InvariantCulture, out var limit))
        {
            await AnswerTextAsync(context, StatusCodes.Status400BadRequest, "invalid start, end or limit").ConfigureAwait(false);
            return;
        }

        if (limit > MaxEntriesLimitPerQuery)
        {
            await AnswerTextAsync(context, StatusCodes.Status400BadRequest, LokiMessages.MaxEntriesLimit(limit, MaxEntriesLimitPerQuery)).ConfigureAwait(false);
            return;
        }

        var forward = query["direction"].ToString() switch
        {
            "" or "backward" or "BACKWARD" => false,
            "forward" or "FORWARD" => true,
            _ => (bool?)null,
        };
        if (forward is null)
        {
            await AnswerTextAsync(context, StatusCodes.Status400BadRequest, "invalid direction").ConfigureAwait(false);
            return;
        }

        var selected = store.Snapshot()
            .Where(e => e.Tenant == tenant && e.TimestampNs >= start && e.TimestampNs < end && selector.Matches(e.LabelMap));
        var ordered = (forward.Value ? selected.OrderBy(e => e.TimestampNs) : selected.OrderByDescending(e => e.TimestampNs)).Take(limit);

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        Write(json, ordered);
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void Write(Utf8JsonWriter json, IEnumerable<StoredEntry> entries)
    {
        var results = new List<(SortedDictionary<string, string> Stream, List<StoredEntry> Values)>();
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var stream = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, value) in entry.LabelMap)
            {
                stream[name] = value;
            }

            foreach (var (name, value) in entry.StructuredMetadata)
            {
                stream[name] = value;
            }

            var key = LabelSet.Format(stream);
            if (!byKey.TryGetValue(key, out var index))
            {
                index = results.Count;
                byKey.Add(key, index);
                results.Add((stream, []));
            }

            results[index].Values.Add(entry);
        }

        json.WriteStartObject();
        json.WriteString("status", "success");
        json.WriteStartObject("data");
        json.WriteString("resultType", "streams");
        json.WriteStartArray("result");
        foreach (var (stream, values) in results)
        {
            json.WriteStartObject();
            json.WriteStartObject("stream");
            foreach (var (name, value) in stream)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteStartArray("values");
            foreach (var entry in values)
            {
                json.WriteStartArray();
                json.WriteStringValue(entry.TimestampNs.ToString(CultureInfo.InvariantCulture));
                json.WriteStringValue(entry.Line);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Loki's forms: Unix nanoseconds, Unix seconds (up to 10 digits, or with a fraction), or RFC 3339.</summary>
    private static bool TryParseTime(string? value, long fallback, out long unixNs)
    {
        unixNs = fallback;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        if (value.Contains('.', StringComparison.Ordinal) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            unixNs = (long)Math.Round(seconds * 1e9);
            return true;
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            unixNs = value.TrimStart('-').Length <= 10 ? number * 1_000_000_000 : number;
            return true;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
        {
            unixNs = GoTime.ToUnixNs(time);
            return true;
        }

        return false;
    }

    private static Task AnswerTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
