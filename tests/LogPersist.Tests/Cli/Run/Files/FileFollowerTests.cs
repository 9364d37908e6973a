using LogPersist.Entries;
using LogPersist.Tests.Support;
using static LogPersist.Tests.Cli.Run.Files.FollowedLines;

namespace LogPersist.Tests.Cli.Run.Files;

/// <summary>
/// <c>logpersist run --files</c> against real files that appear, move, rotate, shrink and vanish while
/// it runs: every line written is recorded once, never twice, never skipped.
/// </summary>
public sealed class FileFollowerTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => _temp.Combine("wal");

    private string Logs(params string[] parts)
    {
        var path = _temp.Combine(["logs", .. parts]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    [LinuxFact]
    public async Task Files_that_appear_later_are_read_from_their_first_line_and_each_line_names_its_file()
    {
        var a = Logs("a.log");
        var first = Make("a", 0, 10);
        Append(a, first);
        await using var run = FollowRun.Start(Root, [Logs("*.log")]);
        await run.WaitForAsync(first, "the first file's lines");

        var b = Logs("b.log");
        var c = Logs("c.log");
        var later = Make("b", 0, 10);
        var latest = Make("c", 0, 10);
        Append(b, later);
        Append(c, latest);
        Append(Logs("c.txt"), Make("not-followed", 0, 3));
        await run.WaitForAsync([.. later, .. latest], "the later files' lines");
        await run.StopAsync();

        var entries = FollowRun.FileEntries(Root);
        AssertExactlyOnce([.. first, .. later, .. latest], entries);
        Assert.Equal(first, From(entries, a));
        Assert.Equal(later, From(entries, b));
        Assert.Equal(latest, From(entries, c));
        Assert.All(entries, e => Assert.Equal("file", e.Category));
    }

    [LinuxFact]
    public async Task Following_a_file_takes_no_lock_so_a_writers_exclusive_open_still_works()
    {
        var a = Logs("a.log");
        var lines = Make("a", 0, 10);
        Append(a, lines);
        await using var run = FollowRun.Start(Root, [Logs("*.log")]);
        await run.WaitForAsync(lines, "the file's lines");

        // .NET opens with FileShare.None take an exclusive advisory lock; a reader's lock would refuse them.
        using (var exclusive = new FileStream(a, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            exclusive.Seek(0, SeekOrigin.End);
            Write(exclusive, Make("a", 10, 5));
        }

        await run.WaitForAsync(Make("a", 10, 5), "the lines written under the exclusive open");
        await run.StopAsync();
    }

    [LinuxFact]
    public async Task A_fifo_matching_the_pattern_is_never_read_and_never_blocks_the_others()
    {
        var fifo = Logs("planted.log");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var lines = Make("a", 0, 10);
        Append(Logs("a.log"), lines);
        await using var run = FollowRun.Start(Root, [Logs("*.log")]);
        await run.WaitForAsync(lines, "the regular file's lines");
        var later = Make("a", 10, 5);
        Append(Logs("a.log"), later);
        await run.WaitForAsync(later, "the lines written later");
        await run.StopAsync();

        AssertExactlyOnce([.. lines, .. later], FollowRun.FileEntries(Root));
    }

    [LinuxFact]
    public async Task A_session_symlink_that_moves_is_followed_into_the_new_session()
    {
        // Ray: /tmp/ray/session_latest -> session_<date>; a new session moves the link.
        var old = Logs("session_1", "logs", "worker-01.out");
        var latest = Logs("session_latest");
        File.CreateSymbolicLink(latest, Path.GetDirectoryName(Path.GetDirectoryName(old)!)!);
        var before = Make("s1", 0, 20);
        Append(old, before);
        await using var run = FollowRun.Start(Root, [Path.Combine(latest, "logs", "*.out")]);
        await run.WaitForAsync(before, "the first session's lines");

        var more = Make("s1", 20, 10);
        Append(old, more);
        var worker = Logs("session_2", "logs", "worker-02.out");
        var raylet = Logs("session_2", "logs", "raylet.out");
        var early = Make("s2-worker", 0, 10);
        Append(worker, early);
        File.Delete(latest);
        File.CreateSymbolicLink(latest, Path.GetDirectoryName(Path.GetDirectoryName(worker)!)!);
        var after = Make("s2-raylet", 0, 10);
        Append(raylet, after);
        await run.WaitForAsync([.. more, .. early, .. after], "the new session's lines");
        await run.StopAsync();

        AssertExactlyOnce([.. before, .. more, .. early, .. after], FollowRun.FileEntries(Root));
    }

    [LinuxTheory]
    [InlineData("app.log")]
    [InlineData("app.log*")]
    public async Task Rename_and_create_rotation_reads_the_old_file_to_its_end_and_the_new_one_from_its_start(string pattern)
    {
        var current = Logs("app.log");
        var lines = new List<string>();
        await using var run = FollowRun.Start(Root, [Logs(pattern)]);
        using (var writer = new FileStream(current, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            var seen = Make("old", 0, 20);
            Write(writer, seen);
            lines.AddRange(seen);
            await run.WaitForAsync(seen, "the lines before the rotation");

            // Written while the follower may not have looked: only the open handle still reaches them.
            var unseen = Make("old", 20, 20);
            Write(writer, unseen);
            lines.AddRange(unseen);
            File.Move(current, Logs("app.log.1"));
        }

        var fresh = Make("new", 0, 20);
        Append(current, fresh);
        lines.AddRange(fresh);
        await run.WaitForAsync(fresh, "the new file's lines");
        await run.StopAsync();

        AssertExactlyOnce(lines, FollowRun.FileEntries(Root));
    }

    [LinuxFact]
    public async Task A_writer_that_goes_on_writing_to_the_renamed_file_is_followed_under_its_new_name()
    {
        var current = Logs("app.log");
        var lines = new List<string>();
        await using var run = FollowRun.Start(Root, [Logs("app.log*")]);
        using (var writer = new FileStream(current, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            var seen = Make("old", 0, 20);
            Write(writer, seen);
            lines.AddRange(seen);
            await run.WaitForAsync(seen, "the lines before the rotation");
            File.Move(current, Logs("app.log.1"));
            var late = Make("late", 0, 20);
            Write(writer, late);
            lines.AddRange(late);
            var fresh = Make("new", 0, 20);
            Append(current, fresh);
            lines.AddRange(fresh);
            await run.WaitForAsync([.. late, .. fresh], "the late and new lines");
        }

        await run.StopAsync();
        var entries = FollowRun.FileEntries(Root);
        AssertExactlyOnce(lines, entries);
        Assert.Equal(Make("late", 0, 20), From(entries, Logs("app.log.1")).Where(m => m.StartsWith("late", StringComparison.Ordinal)));
    }

    [LinuxTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Copy_truncate_rotation_records_each_line_once(bool copyFollowed)
    {
        var current = Logs("app.log");
        var lines = new List<string>();
        await using var run = FollowRun.Start(Root, [Logs(copyFollowed ? "app.log*" : "app.log")]);
        var seen = Make("before", 0, 40);
        Append(current, seen);
        lines.AddRange(seen);
        await run.WaitForAsync(seen, "the lines before the copy");

        var tail = Make("tail", 0, 20);
        Append(current, tail);
        lines.AddRange(tail);
        if (!copyFollowed)
        {
            // Only the copy would keep lines the truncation takes before they are read: it is not followed here.
            await run.WaitForAsync(tail, "the tail before the copy");
        }

        File.Copy(current, Logs("app.log.1"));
        using (new FileStream(current, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite))
        {
        }

        var after = Make("after", 0, 20);
        Append(current, after);
        lines.AddRange(after);
        await run.WaitForAsync(after, "the lines after the truncation");
        await run.StopAsync();

        AssertExactlyOnce(lines, FollowRun.FileEntries(Root));
    }

    [LinuxFact]
    public async Task A_file_deleted_while_read_is_read_to_its_end_through_the_open_handle()
    {
        var doomed = Logs("worker-1.log");
        var lines = new List<string>();
        await using var run = FollowRun.Start(Root, [Logs("*.log")]);
        using (var writer = new FileStream(doomed, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            var seen = Make("doomed", 0, 20);
            Write(writer, seen);
            lines.AddRange(seen);
            await run.WaitForAsync(seen, "the first lines");
            var unseen = Make("doomed", 20, 20);
            Write(writer, unseen);
            lines.AddRange(unseen);
            File.Delete(doomed);
        }

        var other = Make("other", 0, 10);
        Append(Logs("worker-2.log"), other);
        lines.AddRange(other);
        await run.WaitForAsync(other, "the other file's lines");
        await run.StopAsync();

        AssertExactlyOnce(lines, FollowRun.FileEntries(Root));
    }

    [LinuxTheory]
    [InlineData("prog.INFO")]
    [InlineData("prog.*")]
    public async Task Glog_rotation_with_a_symlink_to_the_current_file_records_each_line_once(string pattern)
    {
        // glog: <program>.<host>.<user>.log.<SEVERITY>.<date>-<time>.<pid>, and <program>.<SEVERITY> links to the current one.
        var link = Logs("prog.INFO");
        var first = Logs("prog.host.user.log.INFO.20261203-230000.4711");
        var second = Logs("prog.host.user.log.INFO.20261203-231500.4711");
        var lines = new List<string>();
        await using var run = FollowRun.Start(Root, [Logs(pattern)]);
        using (var writer = new FileStream(first, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            File.CreateSymbolicLink(link, Path.GetFileName(first));
            var seen = Make("I1203 23:00:00.000001  4711 main.cc:10] first", 0, 30);
            Write(writer, seen);
            lines.AddRange(seen);
            await run.WaitForAsync(seen, "the first file's lines");
            var unseen = Make("W1203 23:00:01.000000  4711 main.cc:11] first", 30, 10);
            Write(writer, unseen);
            lines.AddRange(unseen);

            // glog opens the next file, moves the link, then closes the old one.
            using var next = new FileStream(second, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            File.Delete(link);
            File.CreateSymbolicLink(link, Path.GetFileName(second));
            var fresh = Make("E1203 23:15:00.000000  4711 main.cc:12] second", 0, 30);
            Write(next, fresh);
            lines.AddRange(fresh);
            await run.WaitForAsync(fresh, "the second file's lines");
        }

        await run.StopAsync();
        var entries = FollowRun.FileEntries(Root);
        AssertExactlyOnce(lines, entries);

        // The program is the component, whichever file or link a line came through; glog's prefix is the level.
        Assert.All(entries, e => Assert.Equal("prog", e.Line.GetProperty("component").GetString()));
        Assert.Equal([30, 10, 30], [entries.Count(e => e.Level == EntryLevel.Information), entries.Count(e => e.Level == EntryLevel.Warning), entries.Count(e => e.Level == EntryLevel.Error)]);
    }

    [LinuxFact]
    public async Task An_unfinished_last_line_is_recorded_after_the_timeout_and_what_follows_is_a_line_of_its_own()
    {
        var file = Logs("app.log");
        await using var run = FollowRun.Start(Root, [file]);
        File.AppendAllText(file, "complete\nunfinished");
        await run.WaitForAsync(["complete", "unfinished"], "the unfinished line, after its timeout");
        File.AppendAllText(file, " rest\n");
        await run.WaitForAsync([" rest"], "the rest");
        await run.StopAsync();

        var entries = FollowRun.FileEntries(Root);
        Assert.Equal(["complete", "unfinished", " rest"], entries.Select(e => e.Message));
        Assert.Equal([9L, 19L, 25L], entries.Select(e => e.Line.GetProperty("file_offset").GetInt64()));
    }

    [LinuxFact]
    public async Task An_over_long_line_is_recorded_in_pieces_that_join_to_the_line()
    {
        var file = Logs("app.log");
        var line = string.Concat(Enumerable.Range(0, 1000).Select(i => $"{i:D9}é"));
        File.AppendAllText(file, line + "\nshort\n");
        await using var run = FollowRun.Start(Root, [file], "--max-line-bytes", "4096");
        await run.WaitForAsync(["short"], "the line after the long one");
        await run.StopAsync();

        var entries = FollowRun.FileEntries(Root);
        var pieces = entries.Where(e => e.Line.TryGetProperty("part", out _)).ToList();
        Assert.True(pieces.Count >= 3, $"{pieces.Count} pieces");
        Assert.Equal(line, string.Concat(pieces.Select(p => p.Message)));
        Assert.Equal(Enumerable.Range(1, pieces.Count), pieces.Select(p => p.Line.GetProperty("part").GetInt32()));
        Assert.True(pieces[^1].Line.GetProperty("last_part").GetBoolean());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(line) + 1, pieces[^1].Line.GetProperty("file_offset").GetInt64());
        Assert.Equal("short", entries[^1].Message);
    }

    [LinuxTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_second_run_on_the_same_WAL_resumes_each_file_where_the_first_stopped(bool segmentsShipped)
    {
        var a = Logs("a.log");
        var b = Logs("b.log");
        var first = Make("a", 0, 30);
        Append(a, first);
        Append(b, Make("b", 0, 5));
        await using (var run = FollowRun.Start(Root, [Logs("*.log")]))
        {
            await run.WaitForAsync([.. first, .. Make("b", 0, 5)], "the first run's lines");
            await run.StopAsync();
        }

        if (segmentsShipped)
        {
            // Loki took everything and the segments are gone: the side file alone knows the positions.
            Assert.True(DeleteSegments(Root) > 0);
        }

        var second = Make("a", 30, 10);
        Append(a, second);
        await using (var run = FollowRun.Start(Root, [Logs("*.log")]))
        {
            await run.WaitForAsync(second, "the second run's lines");
            await run.StopAsync();
        }

        var entries = FollowRun.FileEntries(Root);
        AssertExactlyOnce(segmentsShipped ? second : [.. first, .. Make("b", 0, 5), .. second], entries);
    }

    [LinuxFact]
    public async Task A_file_replaced_between_runs_is_read_from_its_start_even_on_a_reused_inode()
    {
        var a = Logs("a.log");
        var first = Make("first", 0, 10);
        Append(a, first);
        await using (var run = FollowRun.Start(Root, [a]))
        {
            await run.WaitForAsync(first, "the first run's lines");
            await run.StopAsync();
        }

        // Same inode, other content, longer than before: only the fingerprint tells it is not the same file.
        var replacement = Make("replaced", 0, 20);
        using (var stream = new FileStream(a, FileMode.Truncate, FileAccess.Write))
        {
            Write(stream, replacement);
        }

        await using (var run = FollowRun.Start(Root, [a]))
        {
            await run.WaitForAsync(replacement, "the replacement's lines");
            await run.StopAsync();
        }

        AssertExactlyOnce([.. first, .. replacement], FollowRun.FileEntries(Root));
    }
}
