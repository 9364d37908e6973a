using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace LogPersist.Binding;

/// <summary>
/// Binds the public settings of <see cref="LogPersistOptions"/> from a configuration section without
/// reflection, so the provider works trimmed and under Native AOT. It reads what the framework's
/// reflection binder reads, the same way: keys are case-insensitive, an absent key keeps the current
/// value, numbers and time spans are parsed with the invariant culture (integers also as <c>0x</c> hex),
/// enum names ignore case, <c>Labels</c> and <c>Headers</c> gain or replace entries, and
/// <c>LabelProperties</c> and <c>MetadataProperties</c> gain items. Values that do not convert are all named in one
/// <see cref="InvalidOperationException"/>.
/// </summary>
/// <remarks>
/// <para>
/// The configuration binding source generator cannot do this job here: this assembly sees the
/// options' internal test hooks (file system, clock, HTTP handler), which the generator would try to
/// bind. A test compares this binder with the reflection binder over every option.
/// </para>
/// <para>
/// A JSON <c>null</c> is where this binder chooses differently from the .NET 10 reflection binder, which
/// sets the option to 0, false or a zero timeout: here a <c>null</c> option keeps its value (as if the
/// key were absent), a <c>null</c> label or header value is the empty value (which removes a detected
/// label, as documented) where the reflection binder stored a null the dictionary's type does not
/// allow, and a <c>null</c> item of <c>LabelProperties</c> is skipped.
/// </para>
/// </remarks>
internal static class LogPersistOptionsBinder
{
    /// <param name="section">The section holding the option keys.</param>
    /// <param name="options">The options to change.</param>
    /// <param name="where">How an error names the section, when it is not an <see cref="IConfigurationSection"/> with a path of its own.</param>
    public static void Bind(IConfiguration section, LogPersistOptions options, string where = "")
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        var binder = new Reader(section, section is IConfigurationSection { Path: var path } ? path : where);

        options.Directory = binder.String(nameof(options.Directory), options.Directory);
        options.ServiceName = binder.String(nameof(options.ServiceName), options.ServiceName);
        options.Instance = binder.String(nameof(options.Instance), options.Instance);
        options.SegmentBytes = binder.Int64(nameof(options.SegmentBytes), options.SegmentBytes);
        options.MaxDiskBytes = binder.Int64(nameof(options.MaxDiskBytes), options.MaxDiskBytes);
        options.FullMode = binder.Enum(nameof(options.FullMode), options.FullMode);
        options.BlockTimeout = binder.TimeSpan(nameof(options.BlockTimeout), options.BlockTimeout);
        options.Durability = binder.Enum(nameof(options.Durability), options.Durability);
        options.FlushInterval = binder.TimeSpan(nameof(options.FlushInterval), options.FlushInterval);
        options.MinimumLevel = binder.Enum(nameof(options.MinimumLevel), options.MinimumLevel);

        options.LokiUrl = binder.String(nameof(options.LokiUrl), options.LokiUrl);
        options.Tenant = binder.String(nameof(options.Tenant), options.Tenant);
        options.Username = binder.String(nameof(options.Username), options.Username);
        options.Password = binder.String(nameof(options.Password), options.Password);
        options.BearerToken = binder.String(nameof(options.BearerToken), options.BearerToken);
        options.BearerTokenFile = binder.String(nameof(options.BearerTokenFile), options.BearerTokenFile);
        options.Headers = binder.Dictionary(nameof(options.Headers), options.Headers);
        options.CaCertificateFile = binder.String(nameof(options.CaCertificateFile), options.CaCertificateFile);
        options.ClientCertificateFile = binder.String(nameof(options.ClientCertificateFile), options.ClientCertificateFile);
        options.ClientKeyFile = binder.String(nameof(options.ClientKeyFile), options.ClientKeyFile);
        options.ClientCertificatePassword = binder.String(nameof(options.ClientCertificatePassword), options.ClientCertificatePassword);
        options.Encoding = binder.Enum(nameof(options.Encoding), options.Encoding);
        options.BatchMaxBytes = binder.Int32(nameof(options.BatchMaxBytes), options.BatchMaxBytes);
        options.BatchMaxWait = binder.TimeSpan(nameof(options.BatchMaxWait), options.BatchMaxWait);
        options.MaxInFlight = binder.Int32(nameof(options.MaxInFlight), options.MaxInFlight);

        options.Labels = binder.Dictionary(nameof(options.Labels), options.Labels);
        options.LabelProperties = binder.List(nameof(options.LabelProperties), options.LabelProperties);
        options.MetadataProperties = binder.List(nameof(options.MetadataProperties), options.MetadataProperties);
        options.MaxLabelValues = binder.Int32(nameof(options.MaxLabelValues), options.MaxLabelValues);
        options.MaxStreams = binder.Int32(nameof(options.MaxStreams), options.MaxStreams);
        options.LevelLabel = binder.Boolean(nameof(options.LevelLabel), options.LevelLabel);
        options.MaxLabelNames = binder.Int32(nameof(options.MaxLabelNames), options.MaxLabelNames);
        options.InstanceLabel = binder.Boolean(nameof(options.InstanceLabel), options.InstanceLabel);
        options.LineFormat = binder.Enum(nameof(options.LineFormat), options.LineFormat);
        options.MaxLineBytes = binder.Int32(nameof(options.MaxLineBytes), options.MaxLineBytes);
        options.OversizedLines = binder.Enum(nameof(options.OversizedLines), options.OversizedLines);
        options.MaxEntryBytes = binder.Int32(nameof(options.MaxEntryBytes), options.MaxEntryBytes);
        options.StructuredMetadata = binder.Enum(nameof(options.StructuredMetadata), options.StructuredMetadata);
        options.FlushTimeout = binder.TimeSpan(nameof(options.FlushTimeout), options.FlushTimeout);
        options.AdoptOrphans = binder.Boolean(nameof(options.AdoptOrphans), options.AdoptOrphans);
        options.AllowGroupWritableDirectories = binder.Boolean(nameof(options.AllowGroupWritableDirectories), options.AllowGroupWritableDirectories);

        binder.ThrowIfFailed();
    }

    /// <summary>Reads one section, collecting the values that do not convert instead of stopping at the first.</summary>
    private sealed class Reader(IConfiguration section, string where)
    {
        private List<string>? _errors;

        public string? String(string key, string? current) => section[key] ?? current;

        public int Int32(string key, int current) =>
            Convert(key, current, static text => (int)ParseInteger(text, 32), "System.Int32");

        public long Int64(string key, long current) =>
            Convert(key, current, static text => ParseInteger(text, 64), "System.Int64");

        public bool Boolean(string key, bool current) =>
            Convert(key, current, static text => bool.Parse(text), "System.Boolean");

        public TimeSpan TimeSpan(string key, TimeSpan current) =>
            Convert(key, current, static text => System.TimeSpan.Parse(text.Trim(), CultureInfo.InvariantCulture), "System.TimeSpan");

        public TEnum Enum<TEnum>(string key, TEnum current)
            where TEnum : struct, Enum =>
            Convert(key, current, static text => System.Enum.Parse<TEnum>(text.Trim(), ignoreCase: true), typeof(TEnum).FullName!, $" Valid values: {string.Join(", ", System.Enum.GetNames<TEnum>())}.");

        public Dictionary<string, string> Dictionary(string key, Dictionary<string, string>? current)
        {
            current ??= [];
            foreach (var child in section.GetSection(key).GetChildren())
            {
                if (child.Value is not null)
                {
                    current[child.Key] = child.Value;
                }
                else if (!child.GetChildren().Any())
                {
                    // A JSON null: the empty value, never a null in a dictionary of non-null strings.
                    current[child.Key] = "";
                }
            }

            return current;
        }

        public List<string> List(string key, List<string>? current)
        {
            current ??= [];
            foreach (var child in section.GetSection(key).GetChildren())
            {
                if (child.Value is not null)
                {
                    current.Add(child.Value);
                }
            }

            return current;
        }

        public void ThrowIfFailed()
        {
            if (_errors is not null)
            {
                throw new InvalidOperationException(string.Join(Environment.NewLine, _errors));
            }
        }

        private T Convert<T>(string key, T current, Func<string, T> parse, string typeName, string hint = "")
        {
            var value = section[key];
            if (value is null)
            {
                return current;
            }

            try
            {
                return parse(value);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                var path = where.Length == 0 ? key : ConfigurationPath.Combine(where, key);
                (_errors ??= []).Add($"Failed to convert configuration value '{value}' at '{path}' to type '{typeName}'.{hint}");
                return current;
            }
        }

        /// <summary>Integers as the framework's number converter reads them: decimal, or hex after <c>0x</c>, <c>&amp;h</c> or <c>#</c>.</summary>
        private static long ParseInteger(string text, int bits)
        {
            text = text.Trim();
            var hex = text.StartsWith('#') ? 1 : text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || text.StartsWith("&h", StringComparison.OrdinalIgnoreCase) ? 2 : 0;
            if (hex > 0)
            {
                var digits = text[hex..];
                return bits == 32 ? System.Convert.ToInt32(digits, 16) : System.Convert.ToInt64(digits, 16);
            }

            return bits == 32 ? int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture) : long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }
    }
}
