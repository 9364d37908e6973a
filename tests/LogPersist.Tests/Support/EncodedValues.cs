using System.Globalization;
using System.Text;
using LogPersist.Entries;

namespace LogPersist.Tests.Support;

/// <summary>
/// Encoded entry values as short text, read with the format's own value reader: <c>int:-300</c>,
/// <c>string:"a"</c>, <c>seq[null]</c>, <c>map Customer{Name=string:"Ann"}</c>. Lets a test list what an
/// entry holds and compare it with what was written.
/// </summary>
internal static class EncodedValues
{
    /// <summary>Each property of <paramref name="view"/> as <c>name=value</c>.</summary>
    public static List<string> Properties(in EntryView view)
    {
        var reader = new ValueReader(view.Properties);
        var result = new List<string>();
        for (var i = 0; i < view.PropertyCount; i++)
        {
            Assert.True(reader.TryReadString(out var name), $"property {i} has a name");
            result.Add(Encoding.UTF8.GetString(name) + "=" + Describe(ref reader));
        }

        Assert.Equal(0, reader.Remaining.Length);
        return result;
    }

    /// <summary>Each scope of <paramref name="view"/>.</summary>
    public static List<string> Scopes(in EntryView view)
    {
        var reader = new ValueReader(view.Scopes);
        var result = new List<string>();
        for (var i = 0; i < view.ScopeCount; i++)
        {
            result.Add(Describe(ref reader));
        }

        Assert.Equal(0, reader.Remaining.Length);
        return result;
    }

    private static string Describe(ref ValueReader reader)
    {
        Assert.True(reader.TryReadValue(out var value), "a well-formed value");
        var invariant = CultureInfo.InvariantCulture;
        switch (value.Tag)
        {
            case ValueTag.Null:
                return "null";
            case ValueTag.False:
                return "false";
            case ValueTag.True:
                return "true";
            case ValueTag.Integer:
                return "int:" + value.Integer.ToString(invariant);
            case ValueTag.Unsigned:
                return "uint:" + value.Unsigned.ToString(invariant);
            case ValueTag.Double:
                return "double:" + value.Double.ToString("R", invariant);
            case ValueTag.String:
                return "string:\"" + Encoding.UTF8.GetString(value.Text) + "\"";
            case ValueTag.Number:
                return "number:" + Encoding.UTF8.GetString(value.Text);
            case ValueTag.Sequence:
                var items = new List<string>();
                for (var i = 0; i < value.Count; i++)
                {
                    items.Add(Describe(ref reader));
                }

                return "seq[" + string.Join(", ", items) + "]";
            case ValueTag.Map:
                var typeTag = Encoding.UTF8.GetString(value.Text);
                var pairs = new List<string>();
                for (var i = 0; i < value.Count; i++)
                {
                    Assert.True(reader.TryReadString(out var name), "a map pair has a name");
                    pairs.Add(Encoding.UTF8.GetString(name) + "=" + Describe(ref reader));
                }

                return "map " + typeTag + "{" + string.Join(", ", pairs) + "}";
            default:
                Assert.Fail($"unknown value tag {value.Tag}");
                return "";
        }
    }
}
