using System.Globalization;
using System.Text;

namespace LogPersist.Cli.Run;

/// <summary>
/// The pod's own labels, from the file the Kubernetes downward API writes when a volume maps
/// <c>metadata.labels</c> (<see cref="DefaultPath"/>): one <c>name="value"</c> per line, the value
/// quoted as Go quotes strings. Only the names asked for (<c>--pod-label</c>) are taken, each under its
/// name sanitised as a Loki label name must be (<c>ray.io/node-type</c> → <c>ray_io_node_type</c>).
/// </summary>
internal static class PodLabels
{
    public const string DefaultPath = "/etc/podinfo/labels";

    /// <summary>Larger than any labels file Kubernetes writes (a pod's labels total at most 256 KiB).</summary>
    private const long MaxFileBytes = 1L << 20;

    /// <summary>
    /// The labels named in <paramref name="wanted"/> that <paramref name="path"/> holds, by their Loki
    /// label name. A missing or unreadable file gives none and a line on <paramref name="error"/>; a
    /// wanted label the pod does not have is left out, and said once.
    /// </summary>
    public static Dictionary<string, string> Read(string path, IReadOnlyCollection<string> wanted, TextWriter error)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        if (wanted.Count == 0)
        {
            return found;
        }

        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                error.WriteLine($"logpersist run: --pod-label needs the pod's labels in '{path}' (a downwardAPI volume item with fieldPath metadata.labels); it is not there, so no pod label is added.");
                return found;
            }

            if (info.Length > MaxFileBytes)
            {
                error.WriteLine($"logpersist run: '{path}' is larger than {MaxFileBytes} bytes, not a labels file; no pod label is added.");
                return found;
            }

            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"logpersist run: cannot read the pod's labels in '{path}' ({e.Message}); no pod label is added.");
            return found;
        }

        var all = Parse(text);
        foreach (var name in wanted)
        {
            if (all.TryGetValue(name, out var value))
            {
                found[LogPersist.Loki.LabelSet.SanitizeName(name)] = value;
            }
            else
            {
                error.WriteLine($"logpersist run: the pod has no label '{name}' (in '{path}'); it is not added.");
            }
        }

        return found;
    }

    /// <summary>Every <c>name="value"</c> line of a downward-API labels file; a line in another shape is skipped.</summary>
    public static Dictionary<string, string> Parse(string text)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || Unquote(line.AsSpan(equals + 1).TrimEnd('\r')) is not { } value)
            {
                continue;
            }

            labels[line[..equals]] = value;
        }

        return labels;
    }

    /// <summary>A Go-quoted string (<c>"a\"b\n\u00e9"</c>) without its quotes and escapes; null when it is not one.</summary>
    private static string? Unquote(ReadOnlySpan<char> quoted)
    {
        if (quoted.Length < 2 || quoted[0] != '"' || quoted[^1] != '"')
        {
            return null;
        }

        var inner = quoted[1..^1];
        var text = new StringBuilder(inner.Length);
        var bytes = new List<byte>();
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] != '\\')
            {
                FlushBytes(bytes, text);
                if (inner[i] == '"')
                {
                    return null;
                }

                text.Append(inner[i]);
                continue;
            }

            if (++i >= inner.Length)
            {
                return null;
            }

            switch (inner[i])
            {
                case 'x' when i + 2 < inner.Length && byte.TryParse(inner.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b):
                    // \xNN is a byte of UTF-8; consecutive ones make one character.
                    bytes.Add(b);
                    i += 2;
                    continue;
                case 'u' when i + 4 < inner.Length && int.TryParse(inner.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var u):
                    FlushBytes(bytes, text);
                    text.Append((char)u);
                    i += 4;
                    continue;
                case 'U' when i + 8 < inner.Length && int.TryParse(inner.Slice(i + 1, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var rune) && Rune.IsValid(rune):
                    FlushBytes(bytes, text);
                    text.Append(new Rune(rune).ToString());
                    i += 8;
                    continue;
            }

            FlushBytes(bytes, text);
            switch (inner[i])
            {
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case 'n': text.Append('\n'); break;
                case 't': text.Append('\t'); break;
                case 'r': text.Append('\r'); break;
                case 'a': text.Append('\a'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'v': text.Append('\v'); break;
                default: return null;
            }
        }

        FlushBytes(bytes, text);
        return text.ToString();
    }

    private static void FlushBytes(List<byte> bytes, StringBuilder text)
    {
        if (bytes.Count > 0)
        {
            text.Append(Encoding.UTF8.GetString([.. bytes]));
            bytes.Clear();
        }
    }
}
