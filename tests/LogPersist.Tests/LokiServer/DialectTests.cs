using LogPersist.LokiTestServer;

namespace LogPersist.Tests.LokiServer;

/// <summary>Naming a Loki release: the presets, <c>--loki</c> values, and the releases the server knows.</summary>
public sealed class DialectTests
{
    [Theory]
    [InlineData("2", "2.7")]
    [InlineData("3", "3.6")]
    [InlineData("2.9", "2.9")]
    [InlineData("3.0", "3.0")]
    [InlineData("3.7", "3.7")]
    public void Loki_argument_names_a_release(string argument, string release)
    {
        Assert.True(LokiDialect.TryParse(argument, out var dialect));
        Assert.Equal(release, dialect.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("2.6")]
    [InlineData("3.8")]
    [InlineData("4")]
    [InlineData("3.x")]
    [InlineData(null)]
    public void Unknown_releases_are_not_parsed(string? argument)
    {
        Assert.False(LokiDialect.TryParse(argument, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => LokiDialect.Of(3, 8));
    }

    [Fact]
    public void Presets_are_the_releases_they_name_and_the_default_is_3x()
    {
        Assert.Equal(LokiDialect.Of(3, 7), LokiDialect.V3_7);
        Assert.Equal(LokiDialect.Of(2, 9), LokiDialect.V2_9);
        Assert.Equal((2, 7), (LokiDialect.V2.Major, LokiDialect.V2.Minor));
        Assert.Equal(LokiDialect.V3, new LokiTestServerOptions().Dialect);
    }
}
