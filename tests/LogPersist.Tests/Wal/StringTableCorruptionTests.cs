using System.IO.Abstractions;
using System.Text;
using LogPersist.Entries;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// A sealed WAL of format 2 (entries that refer to their segment's string table) damaged one byte at a
/// time, at every offset of every segment: every entry whose own bytes are untouched is still read,
/// with its own strings. A string whose definition was hit reads as <see cref="SegmentStrings.Missing"/>,
/// never as another string, and only then; a reader starting inside a segment reads the same.
/// </summary>
public sealed class StringTableCorruptionTests : IDisposable
{
    private const int SegmentBytes = 4096;
    private static readonly string[] Categories = ["Orders.Api", "Orders.Worker", "Payments.Client"];
    private static readonly string[] Templates = ["Order {Seq} placed for {Customer}", "Order {Seq} shipped to {Customer}"];

    private readonly TempDirectory _dir = new();
    private readonly Dictionary<long, byte[]> _segments;
    private readonly List<Written> _entries = [];
    private readonly List<(long Segment, int Offset, int End)> _definitions = [];

    public StringTableCorruptionTests()
    {
        using (var wal = WriteAheadLog.Open(Wals.Options(_dir.Path, segmentBytes: SegmentBytes)))
        {
            var encoder = new EntryEncoder();
            for (var i = 0; i < 150; i++)
            {
                encoder.UseStrings(wal.Strings);
                encoder.Begin(new EntryHeader
                {
                    TimestampNs = 1_700_000_000_000_000_000 + i,
                    Level = EntryLevel.Information,
                    CategoryUtf8 = default,
                    Category = Categories[i % 3],
                    Template = Templates[i % 2],
                });
                encoder.BeginProperties(2);
                encoder.WriteProperty("Seq", i);
                encoder.WriteProperty("Customer", "c-" + (i % 7));
                encoder.BeginScopes();
                Assert.True(wal.Append(encoder));
            }
        }

        _segments = Directory.GetFiles(_dir.Path, SegmentNames.SearchPattern)
            .ToDictionary(p => SegmentNames.TryParse(Path.GetFileName(p), out var s) ? s : -1, File.ReadAllBytes);
        foreach (var (sequence, bytes) in _segments.OrderBy(s => s.Key))
        {
            var offset = SegmentScanner.FirstRecordOffset;
            var budget = ChecksumBudget.For(bytes.Length, offset);
            while (SegmentScanner.Step(bytes, sequence, offset, live: false, ref budget) is { Outcome: ScanOutcome.Record } step)
            {
                var end = step.Offset + RecordFormat.HeaderSize + step.Record.PayloadLength;
                if (step.Record.Kind == RecordKind.Strings)
                {
                    _definitions.Add((sequence, step.Offset, end));
                }
                else
                {
                    var strings = SegmentStrings.Collect(bytes, sequence, step.Offset);
                    _entries.Add(new Written(sequence, step.Offset, end, Read(bytes.AsSpan(step.Record.PayloadOffset, step.Record.PayloadLength), strings)!.Value));
                }

                offset = step.Next;
            }
        }
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_sample_has_two_segments_with_tables_and_entries_that_refer_to_them()
    {
        Assert.Equal(2, _segments.Count);
        Assert.Equal(150, _entries.Count);
        Assert.All(_segments.Keys, s => Assert.Contains(_definitions, d => d.Segment == s));
        // Past the first few (strings met for the first time) every entry refers to the table, but the one
        // that opens the second segment: encoded before the roll, it went there self-contained.
        Assert.All(_entries.Skip(10).Where(e => e.Offset != SegmentScanner.FirstRecordOffset), e => Assert.True(e.End - e.Offset < 64, $"entry {e.Entry.Seq} takes {e.End - e.Offset} bytes"));
    }

    [Fact]
    public void Flipping_any_byte_costs_only_the_entry_it_hits_and_a_hit_definition_reads_as_missing()
    {
        var violations = new List<string>();
        var middle = _entries.First(e => e.Segment == _segments.Keys.Min() && e.Entry.Seq == 40);
        var trials = 0;
        foreach (var (sequence, original) in _segments)
        {
            var path = Path.Combine(_dir.Path, SegmentNames.FileName(sequence));
            for (var at = 0; at < original.Length; at++)
            {
                var damaged = (byte[])original.Clone();
                damaged[at] ^= 0xFF;
                File.WriteAllBytes(path, damaged);
                trials++;
                var hitDefinition = _definitions.Any(d => d.Segment == sequence && at >= d.Offset && at < d.End);
                var read = ReadAll(WalPosition.Start);
                foreach (var written in _entries)
                {
                    var touched = written.Segment == sequence && at >= written.Offset && at < written.End;
                    if (!read.TryGetValue((written.Segment, written.Offset), out var entry))
                    {
                        if (!touched)
                        {
                            violations.Add($"{sequence}:{at}: untouched entry {written.Entry.Seq} was not read");
                        }

                        continue;
                    }

                    if (touched)
                    {
                        violations.Add($"{sequence}:{at}: damaged entry {written.Entry.Seq} was read");
                    }
                    else if (entry != written.Entry && !(hitDefinition && written.Segment == sequence && SameOrMissing(entry, written.Entry)))
                    {
                        violations.Add($"{sequence}:{at}: entry {written.Entry.Seq} read as {entry}, written as {written.Entry}");
                    }
                }

                // A reader that starts inside a segment (a restart from a checkpoint) reads the same entries the same way.
                var fromMiddle = ReadAll(new WalPosition(middle.Segment, middle.Offset));
                foreach (var (position, entry) in fromMiddle)
                {
                    if (read.GetValueOrDefault(position) != entry)
                    {
                        violations.Add($"{sequence}:{at}: from the middle, the entry at {position} read as {entry}, from the start as {read.GetValueOrDefault(position)}");
                    }
                }

                if (at == original.Length - 1)
                {
                    File.WriteAllBytes(path, original);
                }
            }
        }

        Assert.Equal(_segments.Values.Sum(s => s.Length), trials);
        Assert.True(violations.Count == 0, $"{violations.Count} violations, the first ones:\n" + string.Join("\n", violations.Take(30)));
    }

    private static bool SameOrMissing(Entry read, Entry written) =>
        read.Seq == written.Seq
        && (read.Category == written.Category || read.Category == Missing)
        && (read.Template == written.Template || read.Template == Missing)
        && (read.Names == written.Names || read.Names.Split(',').Zip(written.Names.Split(',')).All(p => p.First == p.Second || p.First == Missing));

    private static string Missing => Encoding.UTF8.GetString(SegmentStrings.Missing);

    private Dictionary<(long, long), Entry> ReadAll(WalPosition from)
    {
        var read = new Dictionary<(long, long), Entry>();
        using var reader = new WalReader(new FileSystem(), _dir.Path, from, long.MaxValue);
        while (reader.TryRead(out var record))
        {
            if (record.Kind == RecordKind.Data && Read(record.Payload.Span, record.Strings) is { } entry)
            {
                read[(record.Position.Segment, record.Position.Offset)] = entry;
            }
        }

        return read;
    }

    private static Entry? Read(ReadOnlySpan<byte> payload, SegmentStrings? strings)
    {
        if (!EntryView.TryDecode(payload, strings, out var view))
        {
            return null;
        }

        var properties = view.PropertyReader();
        var names = new List<string>();
        long seq = -1;
        for (var i = 0; i < view.PropertyCount; i++)
        {
            if (!properties.TryReadName(out var name) || !properties.TryReadValue(out var value))
            {
                return null;
            }

            names.Add(Encoding.UTF8.GetString(name));
            seq = i == 0 ? value.Integer : seq;
        }

        return new Entry(seq, Encoding.UTF8.GetString(view.Category), Encoding.UTF8.GetString(view.Template), string.Join(",", names));
    }

    private readonly record struct Entry(long Seq, string Category, string Template, string Names);

    private readonly record struct Written(long Segment, int Offset, int End, Entry Entry);
}
