using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class GapLedgerTests
{
    [Fact]
    public void Losses_of_one_reason_merge_into_one_marker_covering_all_of_them_and_other_reasons_stay_apart()
    {
        var ledger = new GapLedger();
        ledger.Add(new GapMarker(WalDropReason.WalFull, 3, 300, 2_000, 2_500));
        ledger.Add(new GapMarker(WalDropReason.WalFull, 2, 50, 1_000, 1_200));
        ledger.Add(new GapMarker(WalDropReason.TooLarge, 1, 9_000, 3_000, 3_000));

        Assert.True(ledger.HasPending);
        var gaps = ledger.TakeAll().OrderBy(g => g.Reason).ToList();

        Assert.Equal(2, gaps.Count);
        var full = gaps.Single(g => g.Reason == WalDropReason.WalFull);
        Assert.Equal((5L, 350L, 1_000L, 2_500L), (full.Records, full.Bytes, full.FromUnixMs, full.ToUnixMs));
        Assert.Equal(1, gaps.Single(g => g.Reason == WalDropReason.TooLarge).Records);
    }

    [Fact]
    public void Taking_the_losses_empties_the_ledger_until_one_is_added_back()
    {
        var ledger = new GapLedger();
        Assert.Empty(ledger.TakeAll());
        ledger.Add(new GapMarker(WalDropReason.NoSpace, 1, 10, 5, 5));

        var taken = ledger.TakeAll();
        Assert.Single(taken);
        Assert.False(ledger.HasPending);
        Assert.Empty(ledger.TakeAll());

        ledger.Add(taken[0]);
        Assert.True(ledger.HasPending);
        Assert.Equal(taken, ledger.TakeAll());
    }
}
