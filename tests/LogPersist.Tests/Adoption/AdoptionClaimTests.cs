using LogPersist.Tests.Support;
using LogPersist.Wal.Ownership;

namespace LogPersist.Tests.Adoption;

public sealed class AdoptionClaimTests
{
    private readonly System.IO.Abstractions.FileSystem _fileSystem = new();

    [Fact]
    public void Of_two_adopters_claiming_the_same_epoch_the_first_wins_and_the_second_reads_its_name()
    {
        using var root = new TempDirectory();
        var path = Path.Combine(root.Path, AdoptionArea.ClaimName("orders-a", 3));
        var claimed = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

        Assert.True(new AdoptionClaim("orders-b", "/wal/orders-a", 3, claimed).TryCreate(_fileSystem, path, out var firstFailure));
        Assert.False(new AdoptionClaim("orders-c", "/wal/orders-a", 3, claimed).TryCreate(_fileSystem, path, out var secondFailure));

        Assert.Null(firstFailure);
        Assert.Null(secondFailure);
        var text = AdoptionClaim.Read(_fileSystem, path);
        Assert.Equal("orders-b", AdoptionClaim.ClaimedBy(text));
        Assert.Contains("epoch=3\n", text, StringComparison.Ordinal);
        Assert.Contains("from=/wal/orders-a\n", text, StringComparison.Ordinal);
        Assert.Contains("claimed=2026-03-01T08:00:00.0000000+00:00\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_claim_that_names_no_adopter_or_is_gone_reads_as_unknown()
    {
        using var root = new TempDirectory();
        Assert.Equal("?", AdoptionClaim.ClaimedBy(""));
        Assert.Equal("?", AdoptionClaim.ClaimedBy("pid=12\nhost=node-1\n"));
        Assert.Equal("", AdoptionClaim.Read(_fileSystem, Path.Combine(root.Path, AdoptionArea.ClaimName("orders-a", 1))));
    }
}
