using System.Globalization;
using System.Text;

namespace LogPersist.LokiTestServer;

/// <summary>
/// The distributor's validation errors as one text, util.GroupedErrors in pkg/util/errors.go (v2.9.0 to v3.7.6): each
/// distinct message once, prefixed <c>N errors like: </c> unless it is the only message and occurred once, joined with
/// <c>; </c>. Loki walks a Go map, so its order varies; here it is the order of first occurrence.
/// </summary>
internal sealed class GroupedErrors
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public bool IsEmpty => _order.Count == 0;

    /// <summary>The last error added, which is all Loki 2.7 answers.</summary>
    public string? Last { get; private set; }

    public void Add(string message)
    {
        Last = message;
        if (_counts.TryGetValue(message, out var count))
        {
            _counts[message] = count + 1;
            return;
        }

        _counts.Add(message, 1);
        _order.Add(message);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var message in _order)
        {
            if (text.Length > 0)
            {
                text.Append("; ");
            }

            var count = _counts[message];
            if (_order.Count > 1 || count > 1)
            {
                text.Append(CultureInfo.InvariantCulture, $"{count} errors like: ");
            }

            text.Append(message);
        }

        return text.ToString();
    }
}
