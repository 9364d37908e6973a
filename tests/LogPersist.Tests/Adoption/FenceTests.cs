using System.Security.Cryptography;
using LogPersist.Tests.Support;
using LogPersist.Wal;
using LogPersist.Wal.Ownership;
using static LogPersist.Tests.Support.Shipping;

namespace LogPersist.Tests.Adoption;

/// <summary>
/// A writer whose directory was adopted while it still runs is fenced: from then on it must not touch the adopted
/// directory except by filling the segment it already has open. Here it is forced to: appends past the end of that
/// segment (a roll, which at the disk cap would also evict the oldest segment), an acknowledgement past everything (a
/// deletion of every segment), and a close. Meanwhile the application has opened a fresh WAL at the old path, as the
/// pipeline does. Both directories are snapshotted before and after.
/// </summary>
public sealed class FenceTests
{
    private const int SegmentBytes = 16 * 1024;

    [Fact]
    public async Task A_fenced_writer_forced_to_roll_acknowledge_and_close_changes_nothing_in_the_adopted_directory_but_its_open_segment()
    {
        using var root = new TempDirectory();
        var directory = Siblings.Directory(root, "orders-a");
        var adopted = Path.Combine(Siblings.AdoptionArea(root), AdoptionArea.AdoptedName("orders-a", 1));
        var options = new WalOptions
        {
            Directory = directory,
            SegmentBytes = SegmentBytes,
            MaxDiskBytes = 2 * SegmentBytes,
            FullMode = WalFullMode.DropOldest,
            Lease = new LeaseOptions { Duration = TimeSpan.FromSeconds(1), Heartbeat = TimeSpan.FromMilliseconds(50), Environment = _ => null },
        };
        var wal = WriteAheadLog.Open(options);
        WriteAheadLog? fresh = null;
        try
        {
            // Two segments, the cap: the next roll would have to evict the oldest.
            var next = 0L;
            while (Directory.GetFiles(directory, SegmentNames.SearchPattern).Length < 2)
            {
                Assert.True(wal.Append(Wals.Payload(next++, 120)));
            }

            // What an adopter does once its claim won: the directory moves into the adoption area.
            Directory.CreateDirectory(Path.GetDirectoryName(adopted)!);
            Directory.Move(directory, adopted);
            await WaitForAsync(() => wal.IsFenced, "the writer to find its directory moved");
            // Its heartbeat is slow, so that its own record stays put between the snapshots.
            fresh = WriteAheadLog.Open(new WalOptions
            {
                Directory = directory,
                SegmentBytes = SegmentBytes,
                Lease = new LeaseOptions { Duration = TimeSpan.FromHours(2), Heartbeat = TimeSpan.FromHours(1), Environment = _ => null },
            });
            Assert.True(fresh.Append(Wals.Payload(1_000_000, 120)));
            var before = Snapshot(adopted);
            var freshBefore = Snapshot(directory);
            var openSegment = SegmentNames.FileName(wal.FirstLiveSegment + 1);

            // More than the open segment can hold: all that fits goes in, then the first append that needs a roll is refused.
            var fencedFrom = next;
            for (var i = 0; i < 2 * SegmentBytes / 120 && wal.Append(Wals.Payload(next, 120)); i++)
            {
                next++;
            }

            Assert.Equal(1, wal.Metrics.Dropped(WalDropReason.Fenced));
            Assert.False(wal.Acknowledge(new WalPosition(long.MaxValue / 2, 0)));
            wal.Dispose();

            var after = Snapshot(adopted);
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            Assert.All(before.Where(f => f.Key != openSegment), f => Assert.Equal(f.Value, after[f.Key]));
            Assert.Equal(freshBefore, Snapshot(directory));

            // The open segment took the appends made after the fence, intact and in order, for the adopter to ship.
            var records = Wals.ReadAll(adopted, out var reader);
            reader.Dispose();
            Assert.Equal(0, reader.DamagedRanges);
            Assert.Equal(Enumerable.Range(0, (int)next).Select(i => (long)i), Wals.DataSequences(records));
            Assert.True(next > fencedFrom, "appends after the fence filled the open segment");
        }
        finally
        {
            wal.Dispose();
            fresh?.Dispose();
        }
    }

    /// <summary>Every file of the directory by name, with a hash of its bytes (the lock file, which stays empty and may be held, by name only).</summary>
    private static Dictionary<string, string> Snapshot(string directory) =>
        Directory.GetFiles(directory).ToDictionary(
            path => Path.GetFileName(path),
            path => Path.GetFileName(path) == DirectoryLock.LockFileName ? "lock" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));
}
