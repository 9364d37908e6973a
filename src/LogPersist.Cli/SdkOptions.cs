using System.CommandLine;

namespace LogPersist.Cli;

/// <summary>
/// The command-line options that mirror <see cref="LogPersistOptions"/>, shared by the commands that
/// ship (<c>drain</c>) or write and ship (<c>run</c>). Secrets are read from files or the environment,
/// never from the command line, where any user of the node could read them in the process list for
/// as long as the process runs: user info in <c>--loki</c> and a <c>--header</c> that carries a
/// credential (<c>Authorization</c>, <c>X-Api-Key</c>, a token, a cookie) are refused, pointing to
/// <c>--password-file</c>, <c>--bearer-token-file</c>, <c>--header-file</c> and the environment.
/// </summary>
internal sealed class SdkOptions
{
    public Option<string?> Loki { get; } = new("--loki") { Description = "Loki base URL (e.g. http://loki:3100). Default: $LOKI_URL." };

    public Option<string?> Tenant { get; } = new("--tenant") { Description = "X-Scope-OrgID tenant. Default: $LOKI_TENANT." };

    public Option<string?> Username { get; } = new("--username") { Description = "Basic-auth user name. Default: $LOKI_USERNAME." };

    public Option<FileInfo?> PasswordFile { get; } = new("--password-file") { Description = "File holding the basic-auth password. Without it, the password itself is read from $LOKI_PASSWORD." };

    public Option<FileInfo?> BearerTokenFile { get; } = new("--bearer-token-file") { Description = "File holding a bearer token, re-read when it changes (projected service-account tokens)." };

    public Option<string[]> Headers { get; } = new("--header") { Description = "Extra request header NAME=VALUE; repeatable. Not for credentials: use --header-file.", AllowMultipleArgumentsPerToken = false };

    public Option<string[]> HeaderFiles { get; } = new("--header-file") { Description = "Extra request header NAME=FILE, its value read from FILE (an API key, a token); repeatable.", AllowMultipleArgumentsPerToken = false };

    public Option<FileInfo?> CaFile { get; } = new("--ca-file") { Description = "PEM bundle of CAs trusted for Loki's certificate." };

    public Option<FileInfo?> ClientCertificate { get; } = new("--client-cert") { Description = "Client certificate (PEM or PKCS#12) for mutual TLS." };

    public Option<FileInfo?> ClientKey { get; } = new("--client-key") { Description = "PEM private key of --client-cert." };

    public Option<PushEncoding?> Encoding { get; } = new("--encoding") { Description = "Push encoding: Protobuf (snappy, default) or Json." };

    public IEnumerable<Option> All => [Loki, Tenant, Username, PasswordFile, BearerTokenFile, Headers, HeaderFiles, CaFile, ClientCertificate, ClientKey, Encoding];

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
        if (result.GetValue(Loki) is { } url && HasUserInfo(url))
        {
            throw new UsageException("--loki must not carry credentials (user info before '@'): every user of the node can read a command line for as long as the process runs. Pass --username and --password-file (or LOKI_USERNAME and LOKI_PASSWORD), or put the URL in LOKI_URL.");
        }

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
            if (IsCredentialHeader(name))
            {
                throw new UsageException($"--header {name} looks like a credential, and every user of the node can read a command line for as long as the process runs. Put the value in a file and pass --header-file {name}=FILE{(name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) ? ", or use --bearer-token-file, or --username with --password-file" : "")}.");
            }

            options.Headers[name] = value;
        }

        foreach (var header in result.GetValue(HeaderFiles) ?? [])
        {
            var (name, file) = Pair(header, "--header-file");
            options.Headers[name] = ReadSecret(new FileInfo(file), "--header-file");
        }

        options.CaCertificateFile = result.GetValue(CaFile)?.FullName;
        options.ClientCertificateFile = result.GetValue(ClientCertificate)?.FullName;
        options.ClientKeyFile = result.GetValue(ClientKey)?.FullName;
        if (result.GetValue(Encoding) is { } encoding)
        {
            options.Encoding = encoding;
        }
    }

    /// <summary>Whether a URL given on the command line carries user info (<c>user:password@</c>, or a token as the user).</summary>
    internal static bool HasUserInfo(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return uri.UserInfo.Length > 0;
        }

        // Not a URL the SDK would take either; still, an '@' before the first '/' of the authority is user info.
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var authority = scheme < 0 ? url : url[(scheme + 3)..];
        var end = authority.IndexOfAny(['/', '?', '#']);
        return (end < 0 ? authority : authority[..end]).Contains('@', StringComparison.Ordinal);
    }

    /// <summary>
    /// Whether a header name says it carries a credential: <c>Authorization</c>, <c>Proxy-Authorization</c>,
    /// <c>Cookie</c>, or any name that speaks of a key, token, secret, password, session, signature or
    /// credential (<c>X-Api-Key</c>, <c>X-Auth-Token</c>, <c>X-Amz-Security-Token</c>).
    /// </summary>
    internal static bool IsCredentialHeader(string name)
    {
        foreach (var word in CredentialWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly string[] CredentialWords = ["auth", "cookie", "key", "token", "secret", "passw", "session", "signature", "credential"];

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
