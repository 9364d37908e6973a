using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

public sealed class DurabilityTests
{
    [Theory]
    [InlineData(WalDurability.PageCache)]
    [InlineData(WalDurability.Interval)]
    [InlineData(WalDurability.Always)]
    public async Task Every_mode_keeps_concurrent_appends_and_flush_is_a_barrier(WalDurability durability)
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 16 * 1024, durability: durability)))
        {
            var appenders = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 300; i++)
                {
                    Assert.True(wal.Append(Wals.Payload(t * 1000 + i, 120)));
                }
            })).ToArray();
            await Task.WhenAll(appenders);
            wal.Flush();
            await wal.FlushAsync();

            // After the barrier a fresh reader sees every record, across several segments.
            using var reader = wal.CreateReader();
            var count = 0;
            while (reader.TryRead(out var record))
            {
                Assert.True(Wals.IsIntact(record.Payload.Span, out _));
                count++;
            }

            Assert.Equal(1200, count);
        }

        Assert.Equal(1200, Wals.DataSequences(Wals.ReadAll(dir.Path, out var closed)).Distinct().Count());
        closed.Dispose();
    }
}
