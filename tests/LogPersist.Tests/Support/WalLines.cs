using System.Text.Json;
using LogPersist.Entries;
using LogPersist.Shipping;
using LogPersist.Wal;

namespace LogPersist.Tests.Support;

/// <summary>The entries of a closed WAL as the JSON lines the shipper would send.</summary>
internal static class WalLines
{
    public static List<JsonElement> Read(string directory)
    {
        var lines = new List<JsonElement>();
        using var formatter = new LineFormatter(LineFormat.Json);
        var records = Wals.ReadAll(directory, out var reader);
        reader.Dispose();
        foreach (var (kind, payload) in records)
        {
            if (kind == RecordKind.Data && EntryView.TryDecode(payload, out var entry))
            {
                using var json = JsonDocument.Parse(formatter.Format(entry, includeTrace: true).ToArray());
                lines.Add(json.RootElement.Clone());
            }
        }

        return lines;
    }

    /// <summary>The one instance directory under a WAL root (the one holding its stream description).</summary>
    public static string InstanceDirectory(string root) =>
        Path.GetDirectoryName(Directory.EnumerateFiles(root, StreamDescription.FileName, SearchOption.AllDirectories).Single())!;
}
