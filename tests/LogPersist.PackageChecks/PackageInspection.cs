using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace LogPersist.PackageChecks;

/// <summary>Reads the packed .nupkg and .snupkg files and checks what nuget.org and a debugger will see.</summary>
internal static partial class PackageInspection
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    private static readonly string[] Libraries = ["LogPersist", "LogPersist.Extensions.Logging", "LogPersist.Serilog", "LogPersist.HealthChecks", "LogPersist.Kubernetes"];

    /// <summary>Packages that must not appear among a library's direct dependencies: the hosting stack and logging implementations.</summary>
    private static readonly string[] Heavy = ["Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging", "Microsoft.AspNetCore.App", "Microsoft.Extensions.Logging.Console"];

    public static void Check(Checks checks, string folder, string version, bool deterministic)
    {
        foreach (var id in Libraries.Append("LogPersist.Cli"))
        {
            var path = Path.Combine(folder, $"{id}.{version}.nupkg");
            if (!File.Exists(path))
            {
                checks.That(false, $"{id} {version} was packed ({path})");
                continue;
            }

            using var package = ZipFile.OpenRead(path);
            var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName == $"{id}.nuspec").Open());
            var ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            string? Meta(string name) => metadata.Element(ns + name)?.Value;

            var readme = Meta("readme");
            checks.That(readme is not null && package.GetEntry(readme) is { Length: > 200 }, $"{id}: has its README ({readme})");
            checks.That(metadata.Element(ns + "license") is { } license && license.Attribute("type")?.Value == "expression" && license.Value == "MIT", $"{id}: license expression MIT");
            checks.That(!string.IsNullOrWhiteSpace(Meta("description")) && !string.IsNullOrWhiteSpace(Meta("tags")) && !string.IsNullOrWhiteSpace(Meta("authors")), $"{id}: description, tags and authors");
            var repository = metadata.Element(ns + "repository");
            var commit = repository?.Attribute("commit")?.Value ?? "";
            checks.That(
                repository?.Attribute("url")?.Value.StartsWith("https://github.com/", StringComparison.Ordinal) == true && CommitPattern().IsMatch(commit),
                $"{id}: repository URL and commit ({repository?.Attribute("url")?.Value} {commit})");

            var dependencies = metadata.Descendants(ns + "dependency").Select(d => (Id: d.Attribute("id")!.Value, Version: d.Attribute("version")!.Value)).ToList();
            if (id != "LogPersist" && id != "LogPersist.Cli")
            {
                checks.That(dependencies.Where(d => d.Id == "LogPersist").All(d => d.Version == $"[{version}]") && dependencies.Any(d => d.Id == "LogPersist"), $"{id}: depends on exactly LogPersist {version}");
            }

            var net8 = metadata.Descendants(ns + "group").Where(g => g.Attribute("targetFramework")?.Value == "net8.0")
                .Elements(ns + "dependency").Where(d => d.Attribute("id")!.Value.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal))
                .Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}").ToList();
            var newer = net8.Where(d => !d.Split(' ')[1].StartsWith("8.", StringComparison.Ordinal)).ToList();
            checks.That(newer.Count == 0, $"{id}: its net8.0 build asks only for the 8.0 line of Microsoft.Extensions{(newer.Count > 0 ? ": " + string.Join(", ", newer) : "")}");

            var heavy = dependencies.Where(d => Heavy.Contains(d.Id, StringComparer.OrdinalIgnoreCase)).Select(d => d.Id).Distinct().ToList();
            checks.That(heavy.Count == 0, $"{id}: no hosting stack or logging implementation among its dependencies{(heavy.Count > 0 ? ": " + string.Join(", ", heavy) : "")}");

            var assemblies = package.Entries.Where(e => e.FullName.EndsWith($"/{id}.dll", StringComparison.Ordinal)).ToList();
            checks.That(assemblies.Count > 0, $"{id}: carries its assembly ({string.Join(", ", assemblies.Select(a => a.FullName))})");
            Console.WriteLine($"      {id}: {new FileInfo(path).Length} bytes; dependencies: {Describe(metadata, ns)}");

            if (id == "LogPersist.Cli")
            {
                // A tool package carries its own PDBs next to the assemblies.
                var toolPdb = package.Entries.FirstOrDefault(e => e.FullName.EndsWith($"/{id}.pdb", StringComparison.Ordinal));
                checks.That(toolPdb is not null && SourceLinkOf(toolPdb).Contains(commit, StringComparison.Ordinal), $"{id}: its PDB links the sources to commit {commit}");
                continue;
            }

            var symbolsPath = Path.Combine(folder, $"{id}.{version}.snupkg");
            checks.That(File.Exists(symbolsPath), $"{id}: has a symbol package");
            if (!File.Exists(symbolsPath))
            {
                continue;
            }

            using var symbols = ZipFile.OpenRead(symbolsPath);
            foreach (var assembly in assemblies)
            {
                var pdb = symbols.GetEntry(Path.ChangeExtension(assembly.FullName, ".pdb"));
                checks.That(pdb is not null && PdbMatches(assembly, pdb), $"{id}: {Path.ChangeExtension(assembly.FullName, ".pdb")} is in the symbol package and matches its assembly");
                if (pdb is null)
                {
                    continue;
                }

                var link = SourceLinkOf(pdb);
                checks.That(link.Contains($"https://raw.githubusercontent.com/", StringComparison.Ordinal) && link.Contains(commit, StringComparison.Ordinal), $"{id}: {assembly.FullName} links its sources to commit {commit}");
                if (deterministic)
                {
                    var documents = DocumentsOf(pdb);
                    checks.That(documents.Count > 0 && documents.All(d => d.StartsWith("/_/", StringComparison.Ordinal)), $"{id}: {assembly.FullName} was built deterministically (source paths under /_/)");
                }
            }
        }
    }

    private static string Describe(XElement metadata, XNamespace ns) =>
        string.Join("; ", metadata.Descendants(ns + "group").Select(g =>
            $"{g.Attribute("targetFramework")?.Value}: {string.Join(", ", g.Elements(ns + "dependency").Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}"))}"))
        is { Length: > 0 } text ? text : "none";

    private static bool PdbMatches(ZipArchiveEntry assembly, ZipArchiveEntry pdb)
    {
        using var pe = new PEReader(new MemoryStream(ReadAll(assembly)));
        var codeView = pe.ReadDebugDirectory().Where(d => d.Type == DebugDirectoryEntryType.CodeView).Select(pe.ReadCodeViewDebugDirectoryData).FirstOrDefault();
        using var provider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(ReadAll(pdb)));
        var id = new BlobContentId(provider.GetMetadataReader().DebugMetadataHeader!.Id);
        return codeView.Guid == id.Guid;
    }

    private static string SourceLinkOf(ZipArchiveEntry pdb)
    {
        using var provider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(ReadAll(pdb)));
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.GetCustomDebugInformation(EntityHandle.ModuleDefinition))
        {
            var information = reader.GetCustomDebugInformation(handle);
            if (reader.GetGuid(information.Kind) == SourceLinkKind)
            {
                return Encoding.UTF8.GetString(reader.GetBlobBytes(information.Value));
            }
        }

        return "";
    }

    private static List<string> DocumentsOf(ZipArchiveEntry pdb)
    {
        using var provider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(ReadAll(pdb)));
        var reader = provider.GetMetadataReader();
        return reader.Documents.Select(h => reader.GetString(reader.GetDocument(h).Name))
            .Where(name => name.EndsWith(".cs", StringComparison.Ordinal) && !name.Contains("/obj/", StringComparison.Ordinal) && !name.Contains(".g.cs", StringComparison.Ordinal))
            .ToList();
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
}
