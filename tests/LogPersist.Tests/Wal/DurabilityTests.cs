using LogPersist.Tests.Support;
using LogPersist.Wal;
using Microsoft.Extensions.Time.Testing;

namespace LogPersist.Tests.Wal;

/// <summary>
/// What each durability mode really asks of the device, seen through a recorder of the msync and fsync calls: which
/// records a completed sync covered by the time an append or a flush returns. Reading records back through the same
/// process's mapping proves nothing here (the page cache serves them with or without a sync); a power loss cannot be
/// staged in a test, so the sync calls are what is checked.
/// </summary>
public sealed class DurabilityTests : IDisposable
{
    private const int SegmentBytes = 16 * 1024;
    private readonly TempDirectory _dir = new();
    private readonly SyncRecorder _syncs = new();

    public void Dispose() => _dir.Dispose();

    private WriteAheadLog Open(WalDurability durability, TimeProvider? time = null, TimeSpan? interval = null) =>
        WriteAheadLog.Open(new WalOptions
        {
            Directory = _dir.Path,
            SegmentBytes = SegmentBytes,
            MaxDiskBytes = SegmentBytes * 1024,
            Durability = durability,
            FlushInterval = interval ?? TimeSpan.FromMilliseconds(200),
            TimeProvider = time ?? TimeProvider.System,
            DeviceSync = _syncs,
        });

    private static void Append(WriteAheadLog wal, long from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            Assert.True(wal.Append(Wals.Payload(i, 120)));
        }
    }

    private static IEnumerable<long> Range(long from, int count) => Enumerable.Range(0, count).Select(i => from + i);

    [Fact]
    public void PageCache_appends_and_segment_rolls_make_no_sync_and_Flush_covers_every_record_appended_before_it()
    {
        using var wal = Open(WalDurability.PageCache);
        Append(wal, 0, 1_000);
        Assert.True(Directory.GetFiles(_dir.Path, SegmentNames.SearchPattern).Length >= 5, "the appends rolled over several segments");

        Assert.Equal(0, _syncs.Syncs);

        wal.Flush();

        // The open segment by msync, the ones already rolled over and unmapped by fsync.
        Assert.Empty(_syncs.NotDurable(Range(0, 1_000)));
        Assert.True(_syncs.MappedSyncs >= 1 && _syncs.FileSyncs >= 4, $"{_syncs.MappedSyncs} msync, {_syncs.FileSyncs} fsync");

        Append(wal, 1_000, 10);
        Assert.Equal(Range(1_000, 10), _syncs.NotDurable(Range(1_000, 10)));
    }

    [Fact]
    public void A_switch_from_PageCache_to_Always_while_running_covers_the_earlier_records_at_the_next_append()
    {
        using var wal = Open(WalDurability.PageCache);
        Append(wal, 0, 300);
        Assert.Equal(0, _syncs.Syncs);

        wal.ApplyLive(new WalOptions { Directory = _dir.Path, SegmentBytes = SegmentBytes, MaxDiskBytes = SegmentBytes * 1024, Durability = WalDurability.Always });
        Append(wal, 300, 1);

        // Earlier records, rolled-over segments included, get the new promise with the first append under it.
        Assert.Empty(_syncs.NotDurable(Range(0, 301)));
        Append(wal, 301, 50);
        Assert.Empty(_syncs.NotDurable(Range(301, 50)));
    }

    [Fact]
    public void A_switch_to_Interval_starts_the_timer_and_one_back_to_PageCache_stops_it()
    {
        var time = new FakeTimeProvider();
        using var wal = Open(WalDurability.PageCache, time);
        Append(wal, 0, 10);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, _syncs.Syncs);

        wal.ApplyLive(new WalOptions { Directory = _dir.Path, SegmentBytes = SegmentBytes, MaxDiskBytes = SegmentBytes * 1024, Durability = WalDurability.Interval, FlushInterval = TimeSpan.FromMilliseconds(100) });
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Empty(_syncs.NotDurable(Range(0, 10)));

        wal.ApplyLive(new WalOptions { Directory = _dir.Path, SegmentBytes = SegmentBytes, MaxDiskBytes = SegmentBytes * 1024, Durability = WalDurability.PageCache });
        Append(wal, 10, 10);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Range(10, 10), _syncs.NotDurable(Range(10, 10)));
    }

    [Fact]
    public async Task FlushAsync_is_the_same_barrier_as_Flush()
    {
        using var wal = Open(WalDurability.PageCache);
        Append(wal, 0, 500);

        await wal.FlushAsync();

        Assert.Empty(_syncs.NotDurable(Range(0, 500)));
    }

    [Fact]
    public void Always_returns_from_each_append_only_once_a_sync_has_covered_it()
    {
        using var wal = Open(WalDurability.Always);
        for (var i = 0L; i < 300; i++)
        {
            Assert.True(wal.Append(Wals.Payload(i, 120)));
            Assert.True(_syncs.IsDurable(i), $"append {i} returned before a sync covered it");
        }
    }

    [Fact]
    public async Task Always_covers_each_of_concurrent_appends_before_it_returns()
    {
        using var wal = Open(WalDurability.Always);
        var late = new List<long>();
        var appenders = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                var sequence = (t * 1_000L) + i;
                Assert.True(wal.Append(Wals.Payload(sequence, 120)));
                if (!_syncs.IsDurable(sequence))
                {
                    lock (late)
                    {
                        late.Add(sequence);
                    }
                }
            }
        }));

        await Task.WhenAll(appenders);

        Assert.Empty(late);
    }

    [Fact]
    public void Interval_syncs_nothing_before_the_interval_and_everything_appended_before_each_tick()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var wal = Open(WalDurability.Interval, time, TimeSpan.FromMilliseconds(200));
        Append(wal, 0, 100);

        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.Equal(0, _syncs.Syncs);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Empty(_syncs.NotDurable(Range(0, 100)));

        // Still in the same segment (a roll would sync the full one as it is unmapped): durable at the next tick.
        Append(wal, 100, 10);
        Assert.Equal(Range(100, 10), _syncs.NotDurable(Range(100, 10)));
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Empty(_syncs.NotDurable(Range(100, 10)));
    }

    [Fact]
    public void Interval_and_Always_sync_a_rolled_segment_before_it_is_unmapped()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var wal = Open(WalDurability.Interval, time, TimeSpan.FromHours(1));
        Append(wal, 0, 1_000);

        // No tick yet: only the segments already rolled over are synced, each as it is unmapped.
        var notDurable = _syncs.NotDurable(Range(0, 1_000));
        Assert.NotEmpty(notDurable);
        Assert.True(notDurable.Count < 1_000 / 4, $"{notDurable.Count} records not durable: more than the open segment holds");
        Assert.Equal(0, _syncs.FileSyncs);
    }

    [Theory]
    [InlineData(WalDurability.Interval)]
    [InlineData(WalDurability.Always)]
    public void Closing_a_WAL_in_a_syncing_mode_syncs_what_is_left(WalDurability durability)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using (var wal = Open(durability, time, TimeSpan.FromHours(1)))
        {
            Append(wal, 0, 300);
        }

        Assert.Empty(_syncs.NotDurable(Range(0, 300)));
    }

    [Fact]
    public void Closing_a_WAL_in_PageCache_mode_leaves_its_pages_to_the_kernel()
    {
        using (var wal = Open(WalDurability.PageCache))
        {
            Append(wal, 0, 300);
        }

        Assert.Equal(0, _syncs.Syncs);
        Assert.Equal(Range(0, 300), Wals.DataSequences(Wals.ReadAll(_dir.Path, out var reader)));
        reader.Dispose();
    }
}
