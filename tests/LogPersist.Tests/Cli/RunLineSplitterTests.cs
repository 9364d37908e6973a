using System.Text;
using LogPersist.Cli.Run;

namespace LogPersist.Tests.Cli;

public sealed class RunLineSplitterTests
{
    private readonly List<(string Text, int Part, bool Last)> _lines = [];

    private LineSplitter Splitter(int maxPieceBytes) =>
        new(maxPieceBytes, (line, part, last) => _lines.Add((Encoding.UTF8.GetString(line), part, last)));

    [Fact]
    public void Lines_are_the_same_however_the_pipe_cuts_the_bytes()
    {
        var input = "first\r\nsecond\n\nthird\rstill third\nlast without newline"u8.ToArray();
        Splitter(64).Run(new TrickleStream(input, chunk: 1), passthrough: null);
        var oneByOne = _lines.ToList();
        _lines.Clear();

        Splitter(64).Run(new MemoryStream(input), passthrough: null);

        Assert.Equal(oneByOne, _lines);
        Assert.Equal(["first", "second", "", "third\rstill third", "last without newline"], _lines.Select(l => l.Text));
        Assert.All(_lines, l => Assert.Equal((0, true), (l.Part, l.Last)));
    }

    [Fact]
    public void A_line_without_a_newline_is_handed_on_in_bounded_pieces()
    {
        // 10 MiB in one line: the splitter's buffer stays at its fixed size and hands on pieces.
        var input = new byte[10 << 20];
        input.AsSpan().Fill((byte)'x');
        var splitter = Splitter(1000);
        splitter.Run(new TrickleStream(input, chunk: 70_000), passthrough: null);

        Assert.Equal(input.Length, _lines.Sum(l => l.Text.Length));
        Assert.All(_lines, l => Assert.True(l.Text.Length <= 1000));
        Assert.Equal(Enumerable.Range(1, _lines.Count), _lines.Select(l => l.Part));
        Assert.Equal([.. Enumerable.Repeat(false, _lines.Count - 1), true], _lines.Select(l => l.Last));
    }

    [Fact]
    public void A_piece_never_cuts_a_character_and_the_last_piece_is_never_empty()
    {
        // A line of exactly two pieces plus "\r\n": the CR must not become a piece of its own.
        var line = string.Concat(Enumerable.Repeat("€", 20));
        Splitter(12).Run(new TrickleStream(Encoding.UTF8.GetBytes(line + "\r\nnext\n"), chunk: 5), passthrough: null);

        Assert.Equal(line, string.Concat(_lines.SkipLast(1).Select(l => l.Text)));
        Assert.All(_lines, l => Assert.DoesNotContain('\uFFFD', l.Text));
        Assert.All(_lines, l => Assert.NotEmpty(l.Text));
        Assert.Equal(("next", 0, true), _lines[^1]);
    }

    [Fact]
    public void Bytes_are_passed_through_unchanged_and_a_broken_passthrough_does_not_stop_the_lines()
    {
        var input = Enumerable.Range(0, 50_000).SelectMany(i => Encoding.UTF8.GetBytes($"line {i}\n")).Append((byte)0xFF).ToArray();
        var copy = new MemoryStream();
        Splitter(4096).Run(new TrickleStream(input, chunk: 4000), copy);
        Assert.Equal(input, copy.ToArray());
        _lines.Clear();

        var splitter = Splitter(4096);
        splitter.Run(new MemoryStream(input), new BrokenStream());

        Assert.IsType<IOException>(splitter.PassthroughError);
        Assert.Equal(50_001, _lines.Count);
        Assert.Equal("\uFFFD", _lines[^1].Text);
    }

    /// <summary>A pipe that returns at most <paramref name="chunk"/> bytes per read.</summary>
    private sealed class TrickleStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));
    }

    /// <summary>A stdout whose reader went away (EPIPE).</summary>
    private sealed class BrokenStream : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("Broken pipe");

        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("Broken pipe");
    }
}
