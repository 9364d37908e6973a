#!/usr/bin/env python3
"""Writes the version-1 fixtures in this folder and their annotated dumps (README.md).

The bytes are built here from the layouts documented in the source (SegmentHeader, RecordFormat,
GapMarker, Checkpoint, EntryFormat, OwnerRecord, StreamDescription), with a CRC-32C of this file's
own, never with LogPersist's encoders: the tests then check that LogPersist reads (and still writes)
exactly these bytes. The files are checked in; this script is how they were made and how each byte
was checked. Never regenerate them for a new format: add fixtures for the new version beside these.

    python3 make-fixtures.py   (from this folder)
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283, "the CRC-32C check value"


class Annotated:
    """Bytes built field by field, each field with what it means, for the dump in README.md."""

    def __init__(self):
        self.data = bytearray()
        self.fields = []

    def add(self, raw: bytes, meaning: str):
        self.fields.append((len(self.data), bytes(raw), meaning))
        self.data += raw

    def at(self, offset: int, raw: bytes, meaning: str):
        """Writes over bytes already reserved (zeros) and records the field."""
        self.data[offset:offset + len(raw)] = raw
        self.fields.append((offset, bytes(raw), meaning))

    def dump(self, base=0):
        lines = []
        for offset, raw, meaning in sorted(self.fields, key=lambda f: f[0]):
            for i in range(0, max(len(raw), 1), 16):
                chunk = raw[i:i + 16]
                text = meaning if i == 0 else "  (continued)"
                lines.append(f"{base + offset + i:5d}  {chunk.hex(' '):<47}  {text}")
        return "\n".join(lines)


# ---- entries (EntryFormat, version 1) -------------------------------------------------------------

def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag(value: int) -> int:
    return ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF


def string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return varint(len(raw)) + raw


TAG = {"null": 0, "false": 1, "true": 2, "integer": 3, "unsigned": 4, "double": 5, "string": 6, "number": 7, "sequence": 8, "map": 9}
FLAG = {"message": 1, "template": 2, "event_id": 4, "event_name": 8, "exception": 16, "trace": 32}
LEVEL = {"trace": 0, "debug": 1, "information": 2, "warning": 3, "error": 4, "critical": 5}


def value(entry: Annotated, v, name: str):
    """Appends one value: (kind, data) with kind a ValueTag name."""
    kind, data = v
    tag = bytes([TAG[kind]])
    if kind in ("null", "false", "true"):
        entry.add(tag, f"{name}: tag {TAG[kind]} ({kind})")
    elif kind == "integer":
        entry.add(tag + varint(zigzag(data)), f"{name}: tag 3 (integer), zig-zag varint of {data}")
    elif kind == "unsigned":
        entry.add(tag + varint(data), f"{name}: tag 4 (unsigned), varint of {data}")
    elif kind == "double":
        entry.add(tag + struct.pack("<d", data), f"{name}: tag 5 (double), {data} as IEEE 754 little endian")
    elif kind in ("string", "number"):
        entry.add(tag + string(data), f"{name}: tag {TAG[kind]} ({kind}), length {len(data.encode())}, UTF-8 {data!r}")
    elif kind == "sequence":
        entry.add(tag + varint(len(data)), f"{name}: tag 8 (sequence) of {len(data)} values")
        for i, item in enumerate(data):
            value(entry, item, f"{name}[{i}]")
    elif kind == "map":
        type_tag, pairs = data
        entry.add(tag + string(type_tag) + varint(len(pairs)), f"{name}: tag 9 (map), type tag {type_tag!r}, {len(pairs)} pairs")
        for key, item in pairs:
            entry.add(string(key), f"{name} pair name {key!r}")
            value(entry, item, f"{name}.{key}")


def entry(timestamp_ns, level, category, message=None, template=None, event_id=0, event_name=None,
          exception=None, trace=None, properties=(), scopes=()) -> Annotated:
    e = Annotated()
    flags = 0
    flags |= FLAG["message"] if message is not None else 0
    flags |= FLAG["template"] if template is not None else 0
    flags |= FLAG["event_id"] if event_id != 0 else 0
    flags |= FLAG["event_name"] if event_name is not None else 0
    flags |= FLAG["exception"] if exception is not None else 0
    flags |= FLAG["trace"] if trace is not None else 0
    e.add(b"\x01", "format version 1")
    e.add(struct.pack("<q", timestamp_ns), f"timestamp, Unix ns {timestamp_ns}")
    e.add(bytes([LEVEL[level]]), f"level {LEVEL[level]} ({level})")
    e.add(bytes([flags]), f"flags 0x{flags:02x}")
    e.add(string(category), f"category {category!r}")
    if message is not None:
        e.add(string(message), f"message {message!r}")
    if template is not None:
        e.add(string(template), f"template {template!r}")
    if event_id != 0:
        e.add(varint(zigzag(event_id)), f"event id {event_id}, zig-zag varint")
    if event_name is not None:
        e.add(string(event_name), f"event name {event_name!r}")
    if exception is not None:
        e.add(string(exception), f"exception {exception!r}")
    if trace is not None:
        trace_id, span_id = trace
        e.add(bytes.fromhex(trace_id), f"trace id {trace_id}")
        e.add(bytes.fromhex(span_id), f"span id {span_id}")
    e.add(struct.pack("<H", len(properties)), f"property count {len(properties)}")
    for name, v in properties:
        e.add(string(name), f"property name {name!r}")
        value(e, v, name)
    e.add(struct.pack("<H", len(scopes)), f"scope count {len(scopes)}")
    for i, v in enumerate(scopes):
        value(e, v, f"scope {i}")
    return e


NS = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z

EVERY_KIND = entry(
    NS, "warning", "Orders.Api",
    message="Order 42 took 12.5 ms",
    template="Order {OrderId} took {Elapsed} ms",
    event_id=-42,
    event_name="OrderSlow",
    exception="System.TimeoutException: late\n   at Orders.Run()",
    trace=("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
    properties=[
        ("Null", ("null", None)),
        ("False", ("false", None)),
        ("True", ("true", None)),
        ("Int", ("integer", -300)),
        ("Long", ("integer", 9223372036854775807)),
        ("ULong", ("unsigned", 18446744073709551615)),
        ("Double", ("double", 12.5)),
        ("Text", ("string", "naïve ☃")),
        ("Price", ("number", "9.99")),
        ("Tags", ("sequence", [("string", "a"), ("integer", 1)])),
        ("Customer", ("map", ("Customer", [("Name", ("string", "Ann")), ("Vip", ("true", None))]))),
        ("Nested", ("map", ("", [("Inner", ("sequence", [("null", None)]))]))),
    ],
    scopes=[("string", "request 7"), ("map", ("", [("User", ("string", "ann"))]))],
)

ENTRY_A = entry(NS, "information", "Orders.Api", template="Order {OrderId} shipped", properties=[("OrderId", ("integer", 42))])
ENTRY_B = entry(NS + 1_000_000, "warning", "Storage", message="disk almost full", scopes=[("string", "request 7")])
ENTRY_C = entry(NS + 2_000_000, "error", "Orders.Api", template="Order {OrderId} failed", event_id=1001,
                exception="System.TimeoutException: late", properties=[("OrderId", ("integer", 43))])
ENTRY_D = entry(NS + 3_000_000, "information", "Orders.Api", template="Order {OrderId} shipped", properties=[("OrderId", ("integer", 44))])


# ---- segments (SegmentHeader, RecordFormat, GapMarker) --------------------------------------------

SEGMENT_BYTES = 512
CREATED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
KIND = {1: "data", 2: "gap", 3: "segment end"}


def header(segment: Annotated, sequence: int):
    segment.at(0, b"LPWALSEG", "magic \"LPWALSEG\"")
    segment.at(8, struct.pack("<H", 1), "format version 1")
    segment.at(10, struct.pack("<H", 64), "header size 64: records start here")
    segment.at(12, bytes(4), "reserved")
    segment.at(16, struct.pack("<q", sequence), f"segment sequence {sequence} (also the file name)")
    segment.at(24, struct.pack("<q", SEGMENT_BYTES), f"segment size {SEGMENT_BYTES}")
    segment.at(32, struct.pack("<q", CREATED_MS), f"created, Unix ms {CREATED_MS}")
    segment.at(40, bytes(20), "reserved")
    crc = crc32c(bytes(segment.data[0:60]))
    segment.at(60, struct.pack("<I", crc), f"CRC-32C of bytes 0..60 = 0x{crc:08x}")


def aligned(length: int) -> int:
    return (16 + length + 7) & ~7


def record(segment: Annotated, sequence: int, offset: int, kind: int, payload: bytes, what: str) -> int:
    """Writes a framed record at offset; returns the offset after it."""
    length = len(payload)
    crc = crc32c(struct.pack("<qqIQ", sequence, offset, length, kind) + payload)
    segment.at(offset, struct.pack("<I", length), f"record at {offset}: payload length {length}")
    segment.at(offset + 4, struct.pack("<I", crc), f"  CRC-32C of (sequence i64, offset i64, length u32, kind u64, payload) = 0x{crc:08x}")
    segment.at(offset + 8, bytes([kind]) + bytes(7), f"  kind {kind} ({KIND[kind]}), 7 reserved zero bytes")
    segment.at(offset + 16, payload, f"  payload: {what}")
    padding = aligned(length) - 16 - length
    if padding:
        segment.at(offset + 16 + length, bytes(padding), f"  zero padding to a multiple of 8")
    return offset + aligned(length)


def gap_marker(reason: int, records: int, nbytes: int, from_ms: int, to_ms: int) -> bytes:
    return bytes([1, reason]) + bytes(6) + struct.pack("<qqqq", records, nbytes, from_ms, to_ms)


def segment7() -> Annotated:
    s = Annotated()
    s.data = bytearray(SEGMENT_BYTES)
    header(s, 7)
    at = record(s, 7, 64, 1, bytes(ENTRY_A.data), "entry A (see below)")
    gap = at
    at = record(s, 7, at, 2, gap_marker(1, 17, 2_890, CREATED_MS - 10_000, CREATED_MS - 1_000),
                "gap marker: version 1, reason 1 (oldest_evicted), 6 reserved, records 17, bytes 2890, from 1767225590000, to 1767225599000 (Unix ms)")
    at = record(s, 7, at, 1, bytes(ENTRY_B.data), "entry B (see below)")
    end = record(s, 7, at, 3, bytes(8), "segment end: 8 zero bytes; the writer moved on to segment 8")
    s.fields.append((end, b"", f"zeros to the end of the file ({SEGMENT_BYTES} bytes)"))
    return s, gap


def segment8() -> Annotated:
    s = Annotated()
    s.data = bytearray(SEGMENT_BYTES)
    header(s, 8)
    torn = record(s, 8, 64, 1, bytes(ENTRY_C.data), "entry C (see below)")
    # What SIGKILL leaves of an append cut short: the kind word (written first), part of the payload,
    # and a header word (length and CRC, written last) that was never stored.
    s.at(torn, bytes(8), f"torn tail at {torn}: header word never published (zero)")
    s.at(torn + 8, bytes([1]) + bytes(7), "  kind 1 (data), written before the payload")
    partial = bytes(ENTRY_D.data[:24])
    s.at(torn + 16, partial, "  the first 24 bytes of entry D's payload; the rest never copied")
    s.fields.append((torn + 40, b"", f"zeros to the end of the file ({SEGMENT_BYTES} bytes)"))
    return s, torn


def checkpoint(sequence: int, offset: int) -> Annotated:
    c = Annotated()
    c.add(b"LPCK", "magic \"LPCK\"")
    c.add(struct.pack("<H", 1), "version 1")
    c.add(bytes(2), "reserved")
    c.add(struct.pack("<q", sequence), f"segment {sequence}")
    c.add(struct.pack("<q", offset), f"offset {offset}: everything before it was shipped")
    crc = crc32c(bytes(c.data[0:24]))
    c.add(struct.pack("<I", crc), f"CRC-32C of bytes 0..24 = 0x{crc:08x}")
    c.add(bytes(4), "reserved, must be zero")
    return c


OWNER = (
    "pid=4242\n"
    "host=node-7\n"
    "started=2026-01-01T00:00:00.0000000+00:00\n"
    "owner=orders/orders-0\n"
    "token=5f0c6d1e2b3a4f5e8d7c6b5a49382716\n"
    "pod=orders-0\n"
    "pod_uid=0f9c2a1e-7b3d-4c5e-9a8b-1d2e3f4a5b6c\n"
    "node=node-7\n"
    "boot_id=7c0a9e2f-1b3d-4e5f-8a9b-0c1d2e3f4a5b\n"
    "epoch=2\n"
    "heartbeat=17\n"
    "lease_seconds=30\n"
    "lease_expires=2026-01-01T00:01:25.0000000+00:00\n"
    "state=adopting\n"
    "adopted_by=orders-1\n"
)

STREAM = """{
  "version": 1,
  "labels": {
    "namespace": "shop",
    "pod": "orders-0",
    "service_name": "orders"
  },
  "levelLabel": true,
  "labelProperties": [
    "Tenant"
  ],
  "lineFormat": "Logfmt",
  "maxLineBytes": 131072,
  "oversizedLines": "Split",
  "structuredMetadata": "Auto",
  "sendsStructuredMetadata": true
}"""


def write(path: str, data: bytes):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def main():
    seg7, gap_offset = segment7()
    seg8, torn_offset = segment8()
    cp = checkpoint(7, gap_offset)
    write("wal/00000000000000000007.wal", bytes(seg7.data))
    write("wal/00000000000000000008.wal", bytes(seg8.data))
    write("wal/checkpoint", bytes(cp.data))
    write("wal/wal.owner", OWNER.encode())
    write("wal/stream.json", STREAM.encode())
    write("entries/every-kind.bin", bytes(EVERY_KIND.data))

    sections = [
        ("wal/00000000000000000007.wal", "A closed segment: entry A, a gap marker, entry B, and the segment-end record.", seg7.dump()),
        ("wal/00000000000000000008.wal", f"The segment being written when the process was killed: entry C, then a torn tail at offset {torn_offset}.", seg8.dump()),
        ("wal/checkpoint", f"Entry A was shipped: the position is (7, {gap_offset}), the gap marker.", cp.dump()),
        ("entries/every-kind.bin", "One entry with every optional field and every value kind, nested.", EVERY_KIND.dump()),
        ("entry A (the payload at 7:80)", "", ENTRY_A.dump()),
        ("entry B (in segment 7)", "", ENTRY_B.dump()),
        ("entry C (in segment 8)", "", ENTRY_C.dump()),
    ]
    with open(os.path.join(HERE, "README.md"), "w", encoding="utf-8") as readme:
        readme.write(INTRO)
        for title, text, dump in sections:
            readme.write(f"\n## {title}\n\n")
            if text:
                readme.write(text + "\n\n")
            readme.write("```\noffset bytes                                            meaning\n" + dump + "\n```\n")
        readme.write(TEXT_FILES)


INTRO = """# Version 1 fixtures

Files exactly as LogPersist 0.1 (WAL segment format 1, entry format 1, checkpoint 1, owner record,
stream description 1) writes them, forged by `make-fixtures.py` from the documented layouts with its
own CRC-32C (check value: `"123456789"` gives `0xE3069283`), not with LogPersist's encoders. Every
byte is listed below with what it means.

The tests under `tests/LogPersist.Tests/Formats/` read these files through LogPersist's own readers and
compare every field with the values written here, and check that LogPersist still writes these bytes.
A future format version must keep reading them: add fixtures for the new version beside these,
never change these. Integers are little endian; offsets are decimal.
"""

TEXT_FILES = """
## wal/wal.owner

The owner record: `key=value` lines, LF-terminated, empty values left out, in this order. An adopter
(`orders-1`) holds the directory of `orders-0` under epoch 2; its 17th renewal. `started` and
`lease_expires` are round-trip (`O`) times; `lease_seconds` is whole seconds; `state` is `live`,
`closed` or `adopting`.

## wal/stream.json

The stream description: UTF-8 JSON, two-space indented, LF line ends, no final newline. `version` 1;
`labels` sorted by name; `levelLabel`; `labelProperties`; `lineFormat` (`Json`, `Logfmt`, `Text`);
`maxLineBytes`; `oversizedLines` (`Truncate`, `Split`); `structuredMetadata` (`Auto`, `On`, `Off`);
`sendsStructuredMetadata`, present once the shipper has decided.
"""

if __name__ == "__main__":
    main()
