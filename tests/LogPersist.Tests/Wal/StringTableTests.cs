using System.IO.Abstractions;
using System.Text;
using LogPersist.Entries;
using LogPersist.Tests.Support;
using LogPersist.Wal;

namespace LogPersist.Tests.Wal;

/// <summary>
/// Segments of format 2 hold a string table: a call site's category, template, event name and property
/// names are written once per segment and entries refer to them by id. A segment stays self-contained
/// (a reader starting anywhere in it resolves every id), damage to a definition costs no entry, and a
/// WAL that still holds format 1 segments reads as one.
/// </summary>
public sealed class StringTableTests
{
    private const string Category = "Orders.Api.CheckoutController";
    private const string Template = "Request {RequestId} answered {Status} in {ElapsedMs} ms";
    private static readonly string[] Names = ["RequestId", "Status", "ElapsedMs"];

    [Fact]
    public void A_call_site_puts_its_strings_in_the_table_once_per_segment_and_its_entries_shrink()
    {
        using var dir = new TempDirectory();
        const int Count = 2_000;
        int version1Bytes;
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 16 * 1024)))
        {
            var encoder = new EntryEncoder();
            version1Bytes = Encode(encoder, null, 0).Length;
            for (var i = 0; i < Count; i++)
            {
                Encode(encoder, wal.Strings, i);
                Assert.True(wal.Append(encoder));
            }
        }

        var (entries, definitions, segments) = ReadEntries(dir.Path);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (long)i), entries.Select(e => e.RequestId));
        Assert.All(entries, e => Assert.Equal((Category, Template, "Answered"), (e.Category, e.Template, e.EventName)));
        Assert.True(segments >= 3, $"only {segments} segments: the test meant to cross segment boundaries");

        // Six strings (category, template, event name, three property names), each defined once per segment.
        Assert.InRange(definitions, 6, 6 * segments);
        var onDisk = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Length;
        Assert.Equal(segments, onDisk);
        // The very first entry meets its strings for the first time and writes them out; every later one refers to them.
        Assert.Equal(version1Bytes + 6, entries[0].PayloadBytes);
        // An entry that crossed a segment's end after it was encoded went into the next one self-contained (format 1).
        var referencing = entries.Skip(1).Where(e => e.Format == EntryFormat.Version2).Max(e => e.PayloadBytes);
        Assert.InRange(entries.Count(e => e.Format == EntryFormat.Version1), 0, segments - 1);
        Assert.True(referencing * 2 < version1Bytes, $"an entry that refers to the table takes {referencing} bytes, written out {version1Bytes}");
    }

    [Fact]
    public void A_string_met_once_stays_in_its_entry_and_one_met_again_goes_to_the_table()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path)))
        {
            var encoder = new EntryEncoder();
            foreach (var template in new[] { "user 1 logged in", "user 2 logged in", "steady {X}", "steady {X}", "steady {X}" })
            {
                encoder.UseStrings(wal.Strings);
                encoder.Begin(new EntryHeader { TimestampNs = 1, Level = EntryLevel.Information, CategoryUtf8 = "c"u8, Template = template });
                encoder.BeginProperties(0);
                encoder.BeginScopes();
                Assert.True(wal.Append(encoder));
            }
        }

        var table = new List<string>();
        var templates = new List<string>();
        using var reader = new WalReader(new FileSystem(), dir.Path, WalPosition.Start, long.MaxValue);
        while (reader.TryRead(out var record))
        {
            Assert.True(EntryView.TryDecode(record.Payload.Span, record.Strings, out var view));
            templates.Add(Encoding.UTF8.GetString(view.Template));
            table = Enumerable.Range(0, record.Strings!.Count).Select(id => Encoding.UTF8.GetString(record.Strings.Resolve((ulong)id))).ToList();
        }

        Assert.Equal(["user 1 logged in", "user 2 logged in", "steady {X}", "steady {X}", "steady {X}"], templates);
        Assert.Equal(["steady {X}"], table);
    }

    [Fact]
    public void A_reader_that_starts_inside_a_segment_resolves_the_strings_defined_before_its_start()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 1 << 20)))
        {
            var encoder = new EntryEncoder();
            for (var i = 0; i < 100; i++)
            {
                Encode(encoder, wal.Strings, i);
                Assert.True(wal.Append(encoder));
            }
        }

        WalPosition middle;
        using (var reader = new WalReader(new FileSystem(), dir.Path, WalPosition.Start, long.MaxValue))
        {
            for (var i = 0; i < 60; i++)
            {
                Assert.True(reader.TryRead(out _));
            }

            middle = reader.Position;
        }

        var (entries, _, _) = ReadEntries(dir.Path, middle);
        Assert.Equal(Enumerable.Range(60, 40).Select(i => (long)i), entries.Select(e => e.RequestId));
        Assert.All(entries, e => Assert.Equal((Category, Template, EntryFormat.Version2), (e.Category, e.Template, e.Format)));
    }

    [Fact]
    public void An_entry_made_for_a_segment_that_filled_up_before_its_append_is_appended_self_contained()
    {
        using var dir = new TempDirectory();
        using (var wal = WriteAheadLog.Open(Wals.Options(dir.Path, segmentBytes: 4096)))
        {
            var encoder = new EntryEncoder();
            for (var i = 0; i < 3; i++)
            {
                Encode(encoder, wal.Strings, i);
                Assert.True(wal.Append(encoder));
            }

            // Encoded against the open segment, which other appends then fill before this one lands.
            Encode(encoder, wal.Strings, 3);
            Assert.NotNull(encoder.Segment);
            var first = wal.AppendPosition.Segment;
            for (var i = 0; wal.AppendPosition.Segment == first; i++)
            {
                Assert.True(wal.Append(Wals.Payload(i, 200)));
            }

            Assert.True(wal.Append(encoder));
        }

        var (entries, _, _) = ReadEntries(dir.Path);
        Assert.Equal([0L, 1, 2, 3], entries.Select(e => e.RequestId));
        Assert.Equal(EntryFormat.Version1, entries[^1].Format);
        Assert.Equal((Category, Template, "Answered"), (entries[^1].Category, entries[^1].Template, entries[^1].EventName));
    }

    [Fact]
    public void A_wal_holding_format_1_and_format_2_segments_reads_as_one()
    {
        using var dir = new TempDirectory();
        var options = Wals.Options(dir.Path);
        using (var old = WriteAheadLog.Open(new WalOptions { Directory = dir.Path, SegmentBytes = options.SegmentBytes, MaxDiskBytes = options.MaxDiskBytes, SegmentFormat = 1 }))
        {
            var encoder = new EntryEncoder();
            for (var i = 0; i < 10; i++)
            {
                Encode(encoder, old.Strings, i);
                Assert.Null(encoder.Segment);
                Assert.True(old.Append(encoder));
            }
        }

        using (var wal = WriteAheadLog.Open(options))
        {
            var encoder = new EntryEncoder();
            for (var i = 10; i < 20; i++)
            {
                Encode(encoder, wal.Strings, i);
                Assert.True(wal.Append(encoder));
            }
        }

        var versions = Directory.GetFiles(dir.Path, SegmentNames.SearchPattern).Order()
            .Select(path => SegmentHeader.AnnouncedVersion(File.ReadAllBytes(path))).ToList();
        Assert.Equal([(ushort?)1, 2], versions);
        var (entries, _, _) = ReadEntries(dir.Path);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), entries.Select(e => e.RequestId));
        Assert.All(entries, e => Assert.Equal((Category, Template), (e.Category, e.Template)));
        Assert.Equal(Enumerable.Repeat(EntryFormat.Version1, 10), entries.Take(10).Select(e => e.Format));
        Assert.Contains(entries.Skip(10), e => e.Format == EntryFormat.Version2);
    }

    [Fact]
    public void An_entry_is_cut_at_the_same_place_whether_its_names_are_in_the_table_or_written_out()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path));
        var longName = new string('n', 900);
        var limits = new EntryLimits(4096);
        string Lines(StringIds? strings)
        {
            var encoder = new EntryEncoder(limits);
            var result = "";
            for (var round = 0; round < 3; round++)
            {
                encoder.UseStrings(strings);
                encoder.Begin(new EntryHeader { TimestampNs = 1, Level = EntryLevel.Information, CategoryUtf8 = "c"u8 });
                var count = encoder.BeginProperties(10);
                for (var i = 0; i < count; i++)
                {
                    encoder.WriteProperty(longName, i);
                }

                encoder.BeginScopes();
                var payload = encoder.End();
                var table = new SegmentStrings();
                if (encoder.Segment is { } segment)
                {
                    // The strings the entry refers to, as a reader of the segment finds them.
                    table = SegmentStrings.Collect(segment.Map.Bytes, segment.Sequence, segment.Tail);
                }

                Assert.True(EntryView.TryDecode(payload, table, out var view));
                result = $"{view.PropertyCount} properties, cut {string.Join(",", encoder.Cuts.ToArray())}";
            }

            return result;
        }

        var written = Lines(null);
        Assert.Equal(written, Lines(wal.Strings));
        Assert.Matches("^[1-5] properties, cut 0,.*[1-9]", written);
    }

    [Fact]
    public void Definitions_beyond_the_tables_bounds_are_refused_and_an_undefined_id_reads_as_missing()
    {
        var strings = new SegmentStrings();
        var buffer = new byte[SegmentStrings.DefinitionSize(SegmentStrings.MaxStringBytes + 1)];
        Assert.True(strings.Absorb(buffer.AsSpan(0, SegmentStrings.WriteDefinition(buffer, 7, "seven"u8))));
        Assert.False(strings.Absorb(buffer.AsSpan(0, SegmentStrings.WriteDefinition(buffer, SegmentStrings.MaxIds, "far"u8))));
        Assert.False(strings.Absorb(buffer.AsSpan(0, SegmentStrings.WriteDefinition(buffer, 8, new byte[SegmentStrings.MaxStringBytes + 1]))));
        Assert.False(strings.Absorb([SegmentStrings.DefinitionFormat + 1, 1, (byte)'x']));
        Assert.False(strings.Absorb([SegmentStrings.DefinitionFormat, 0x80, 0x80, 0x80, 0x80]));

        Assert.Equal("seven", Encoding.UTF8.GetString(strings.Resolve(7)));
        Assert.Equal(SegmentStrings.Missing.ToArray(), strings.Resolve(8).ToArray());
        Assert.Equal(SegmentStrings.Missing.ToArray(), strings.Resolve(ulong.MaxValue).ToArray());
        Assert.Equal(2, strings.Unresolved);
        Assert.Equal(1, strings.Count);
    }

    [Fact]
    public void A_format_2_entry_with_a_reference_does_not_decode_without_its_table()
    {
        using var dir = new TempDirectory();
        using var wal = WriteAheadLog.Open(Wals.Options(dir.Path));
        var encoder = new EntryEncoder();
        Encode(encoder, wal.Strings, 0);
        var payload = Encode(encoder, wal.Strings, 1).ToArray();

        Assert.Equal(EntryFormat.Version2, payload[0]);
        Assert.False(EntryView.TryDecode(payload, out _));
    }

    /// <summary>Encodes entry <paramref name="requestId"/> of the call site the way the logger does; with <paramref name="strings"/> null, written out (format 1).</summary>
    internal static ReadOnlySpan<byte> Encode(EntryEncoder encoder, StringIds? strings, long requestId)
    {
        encoder.UseStrings(strings);
        encoder.Begin(new EntryHeader
        {
            TimestampNs = 1_700_000_000_000_000_000 + requestId,
            Level = EntryLevel.Information,
            CategoryUtf8 = Encoding.UTF8.GetBytes(Category),
            Category = Category,
            Template = Template,
            EventId = 7,
            EventName = "Answered",
        });
        encoder.BeginProperties(3);
        encoder.WriteProperty(Names[0], requestId);
        encoder.WriteProperty(Names[1], 200);
        encoder.WriteProperty(Names[2], 12);
        encoder.BeginScopes();
        return encoder.End();
    }

    internal static (List<ReadEntry> Entries, int Definitions, int Segments) ReadEntries(string directory, WalPosition? from = null)
    {
        var entries = new List<ReadEntry>();
        var segments = new HashSet<long>();
        var tables = new HashSet<SegmentStrings>();
        using var reader = new WalReader(new FileSystem(), directory, from ?? WalPosition.Start, long.MaxValue);
        while (reader.TryRead(out var record))
        {
            segments.Add(record.Position.Segment);
            if (record.Kind != RecordKind.Data || !EntryView.TryDecode(record.Payload.Span, record.Strings, out var view))
            {
                continue;
            }

            tables.Add(record.Strings!);
            var properties = view.PropertyReader();
            long requestId = -1;
            for (var i = 0; i < view.PropertyCount; i++)
            {
                Assert.True(properties.TryReadName(out var name));
                Assert.True(properties.TryReadValue(out var value));
                Assert.Equal(Names[i], Encoding.UTF8.GetString(name));
                if (i == 0)
                {
                    requestId = value.Integer;
                }
            }

            entries.Add(new ReadEntry(
                requestId, Encoding.UTF8.GetString(view.Category), Encoding.UTF8.GetString(view.Template), Encoding.UTF8.GetString(view.EventName), view.Format, record.Payload.Length));
        }

        return (entries, tables.Sum(t => t.Count), segments.Count);
    }

    internal readonly record struct ReadEntry(long RequestId, string Category, string Template, string EventName, byte Format, int PayloadBytes);
}
