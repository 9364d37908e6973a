using LogPersist.Tests.Security;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class ChecksumBudgetTests
{
    [Fact]
    public void A_walk_over_a_crafted_segment_checksums_at_most_a_few_times_its_size()
    {
        var bytes = DamageScanTests.Crafted();

        var (_, spent) = Walk(bytes, 1);

        Assert.InRange(spent, 1, (1 + ChecksumBudget.BytesPerByte) * (long)bytes.Length);
    }

    [Fact]
    public void Ordinary_damage_is_skipped_exactly_as_without_a_budget()
    {
        // Records of every size up to a large one, then flipped bits in a few of them and a torn tail.
        var bytes = new byte[1 << 20];
        new SegmentHeader(3, bytes.Length, 0).Write(bytes);
        var offset = SegmentScanner.FirstRecordOffset;
        var random = new Random(5);
        for (var i = 0; offset < bytes.Length - (300 << 10); i++)
        {
            var payload = new byte[i % 50 == 0 ? 200 << 10 : random.Next(1, 400)];
            random.NextBytes(payload);
            RecordFormat.Write(bytes.AsSpan(offset), 3, offset, RecordKind.Data, payload);
            offset += RecordFormat.AlignedSize(payload.Length);
        }

        for (var i = 0; i < 20; i++)
        {
            bytes[SegmentScanner.FirstRecordOffset + random.Next(offset - SegmentScanner.FirstRecordOffset)] ^= 0x10;
        }

        bytes.AsSpan(offset, 40).Fill(0x5A);

        var (budgeted, _) = Walk(bytes, 3);
        var (unlimited, _) = Walk(bytes, 3, limited: false);

        Assert.Equal(unlimited, budgeted);
    }

    private static (List<(ScanOutcome, int, int)> Steps, long Spent) Walk(byte[] bytes, long sequence, bool limited = true)
    {
        var budget = limited ? ChecksumBudget.For(bytes.Length, SegmentScanner.FirstRecordOffset) : ChecksumBudget.Unlimited;
        var steps = new List<(ScanOutcome, int, int)>();
        var offset = SegmentScanner.FirstRecordOffset;
        while (true)
        {
            var step = SegmentScanner.Step(bytes, sequence, offset, live: false, ref budget);
            steps.Add((step.Outcome, step.Offset, step.Length));
            if (step.Outcome is not (ScanOutcome.Record or ScanOutcome.Damage))
            {
                return (steps, budget.Spent);
            }

            offset = step.Next;
        }
    }
}
