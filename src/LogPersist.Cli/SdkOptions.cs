using System.CommandLine;

namespace LogPersist.Cli;

/// <summary>
/// The command-line options that mirror <see cref="LogPersistOptions"/>, shared by the commands that
/// ship (<c>drain</c>) or write and ship (<c>run</c>). Secrets are read from files or the environment,
/// never from the command line, where any user of the node could read them in the process list.
/// </summary>
internal sealed class SdkOptions
{
    public Option<string?> Loki { get; } = new("--loki") { Description = "Loki base URL (e.g. http://loki:3100). Default: $LOKI_URL." };

    public Option<string?> Tenant { get; } = new("--tenant") { Description = "X-Scope-OrgID tenant. Default: $LOKI_TENANT." };

    public Option<string?> Username { get; } = new("--username") { Description = "Basic-auth user name. Default: $LOKI_USERNAME." };

    public Option<FileInfo?> PasswordFile { get; } = new("--password-file") { Description = "File holding the basic-auth password. Default: $LOKI_PASSWORD." };

    public Option<FileInfo?> BearerTokenFile { get; } = new("--bearer-token-file") { Description = "File holding a bearer token, re-read when it changes (projected service-account tokens)." };

    public Option<string[]> Headers { get; } = new("--header") { Description = "Extra request header NAME=VALUE; repeatable.", AllowMultipleArgumentsPerToken = false };

    public Option<FileInfo?> CaFile { get; } = new("--ca-file") { Description = "PEM bundle of CAs trusted for Loki's certificate." };

    public Option<FileInfo?> ClientCertificate { get; } = new("--client-cert") { Description = "Client certificate (PEM or PKCS#12) for mutual TLS." };

    public Option<FileInfo?> ClientKey { get; } = new("--client-key") { Description = "PEM private key of --client-cert." };

    public Option<PushEncoding?> Encoding { get; } = new("--encoding") { Description = "Push encoding: Protobuf (snappy, default) or Json." };

    public IEnumerable<Option> All => [Loki, Tenant, Username, PasswordFile, BearerTokenFile, Headers, CaFile, ClientCertificate, ClientKey, Encoding];

    public void AddTo(Command command)
    {
        foreach (var option in All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Copies the Loki settings of the command line (falling back to the environment) into <paramref name="options"/>.</summary>
    public void ApplyLoki(ParseResult result, LogPersistOptions options, Func<string, string?> environment)
    {
        options.LokiUrl = result.GetValue(Loki) ?? environment("LOKI_URL") ?? "";
        options.Tenant = result.GetValue(Tenant) ?? environment("LOKI_TENANT");
        options.Username = result.GetValue(Username) ?? environment("LOKI_USERNAME");
        options.Password = result.GetValue(PasswordFile) is { } passwordFile
            ? ReadSecret(passwordFile, "--password-file")
            : environment("LOKI_PASSWORD");
        options.BearerTokenFile = result.GetValue(BearerTokenFile)?.FullName;
        foreach (var header in result.GetValue(Headers) ?? [])
        {
            var (name, value) = Pair(header, "--header");
            options.Headers[name] = value;
        }

        options.CaCertificateFile = result.GetValue(CaFile)?.FullName;
        options.ClientCertificateFile = result.GetValue(ClientCertificate)?.FullName;
        options.ClientKeyFile = result.GetValue(ClientKey)?.FullName;
        if (result.GetValue(Encoding) is { } encoding)
        {
            options.Encoding = encoding;
        }
    }

    /// <summary>Splits <c>NAME=VALUE</c>; a malformed pair is a usage error.</summary>
    public static (string Name, string Value) Pair(string text, string option)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new UsageException($"{option} expects NAME=VALUE, not '{text}'.");
        }

        return (text[..equals].Trim(), text[(equals + 1)..]);
    }

    private static string ReadSecret(FileInfo file, string option)
    {
        try
        {
            return File.ReadAllText(file.FullName).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} '{file.FullName}' cannot be read: {e.Message}");
        }
    }
}
