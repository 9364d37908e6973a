#!/usr/bin/env python3
"""Draws logging-hot-path.svg from BenchmarkDotNet's CSV report of LoggingHotPathBenchmarks.

Standard library only (no plotting package on the benchmark machine): the SVG is written by hand.

    python3 benchmarks/results/plot-logging-hot-path.py \
        benchmarks/results/logging-hot-path.csv benchmarks/results/logging-hot-path.svg
"""

import csv
import re
import sys
from html import escape

LOGGERS = ["LogPersist", "ZLoggerPlain", "ZLoggerJson", "SerilogFile", "NLogFile"]
THREADS = ["1", "2"]
COLOURS = {"1": "#3b6ea8", "2": "#e08a2c"}

TIME_UNITS = {"ns": 1.0, "us": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9}
SIZE_UNITS = {"B": 1.0, "KB": 1024.0, "MB": 1024.0 ** 2}


def quantity(text, units):
    """'1,098.6 ns' -> 1098.6 (in the first unit); '-' -> 0."""
    text = text.strip()
    if text in ("", "-", "NA", "?"):
        return 0.0
    match = re.fullmatch(r"([0-9.,]+)\s*(\S+)", text)
    if not match:
        raise ValueError(f"cannot read {text!r}")
    return float(match.group(1).replace(",", "")) * units[match.group(2)]


def load(path):
    rows = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["Method"], row["Threads"], row["Measure"])
            rows[key] = {
                "mean": quantity(row["Mean"], TIME_UNITS),
                "sd": quantity(row["StdDev"], TIME_UNITS),
                "alloc": quantity(row["Allocated"], SIZE_UNITS),
            }
    return rows


def nice_max(value):
    for magnitude in (1, 10, 100, 1000, 10000, 100000):
        for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            if step * magnitude >= value:
                return step * magnitude
    return value


def peak(values, errors=None):
    return max(v + (errors or {}).get(k, 0) for k, v in values.items()) or 1


def panel(out, x, y, width, title, unit, values, errors=None, scale_max=None):
    """Horizontal grouped bars: one group per logger, one bar per thread count."""
    label_w, bar_h, gap, group_gap = 100, 13, 2, 12
    plot_w = width - label_w - 60
    top = y + 28
    scale_max = scale_max or nice_max(peak(values, errors) * 1.05)
    out.append(f'<text x="{x}" y="{y + 12}" class="title">{escape(title)}</text>')
    group_h = len(THREADS) * (bar_h + gap) + group_gap
    bottom = top + len(LOGGERS) * group_h
    for i in range(5):
        gx = x + label_w + plot_w * i / 4
        out.append(f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{bottom}" class="grid"/>')
        out.append(f'<text x="{gx:.1f}" y="{bottom + 13}" class="tick">{scale_max * i / 4:,.0f}</text>')
    out.append(f'<text x="{x + label_w + plot_w / 2:.1f}" y="{bottom + 28}" class="tick">{escape(unit)}</text>')
    for g, logger in enumerate(LOGGERS):
        gy = top + g * group_h
        out.append(f'<text x="{x + label_w - 6}" y="{gy + bar_h + 4}" class="label">{logger}</text>')
        for t, threads in enumerate(THREADS):
            key = (logger, threads)
            if key not in values:
                continue
            value = values[key]
            by = gy + t * (bar_h + gap)
            w = plot_w * value / scale_max
            out.append(f'<rect x="{x + label_w}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS[threads]}"/>')
            end = x + label_w + w
            if errors and key in errors:
                lo = x + label_w + plot_w * max(value - errors[key], 0) / scale_max
                hi = x + label_w + plot_w * (value + errors[key]) / scale_max
                mid = by + bar_h / 2
                out.append(f'<line x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}" class="err"/>')
                end = max(end, hi)
            out.append(f'<text x="{end + 4:.1f}" y="{by + bar_h - 3}" class="value">{value:,.0f}</text>')


def main(csv_path, svg_path):
    rows = load(csv_path)

    def pick(measure, field):
        return {(m, t): r[field] for (m, t, me), r in rows.items() if me == measure}

    width, height = 1140, 330
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">',
        "<style>"
        ".title{font-size:13px;font-weight:bold}.label{font-size:11px;text-anchor:end}"
        ".tick{font-size:10px;fill:#555;text-anchor:middle}.value{font-size:10px;fill:#222}"
        ".grid{stroke:#ddd;stroke-width:1}.err{stroke:#000;stroke-width:1}"
        "</style>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    calls, calls_sd = pick("Calls", "mean"), pick("Calls", "sd")
    drain, drain_sd = pick("CallsAndDrain", "mean"), pick("CallsAndDrain", "sd")
    time_max = nice_max(max(peak(calls, calls_sd), peak(drain, drain_sd)) * 1.05)  # one scale for both time panels
    panel(out, 10, 10, 380, "ns per call: until the call returns", "ns (mean; line = ±1 StdDev)",
          calls, calls_sd, time_max)
    panel(out, 390, 10, 380, "ns per call: until every entry is in its file", "ns (mean; line = ±1 StdDev)",
          drain, drain_sd, time_max)
    panel(out, 770, 10, 360, "bytes allocated per call (until the call returns)", "B (managed, all threads)",
          pick("Calls", "alloc"))
    legend_y = height - 22
    for i, threads in enumerate(THREADS):
        lx = 120 + i * 130
        out.append(f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{COLOURS[threads]}"/>')
        label = "1 calling thread" if threads == "1" else "2 calling threads"
        out.append(f'<text x="{lx + 16}" y="{legend_y}" font-size="11">{label}</text>')
    out.append(f'<text x="{width - 10}" y="{legend_y}" font-size="10" fill="#555" text-anchor="end">'
               "One MEL [LoggerMessage] call, 3 int properties, Information; "
               "with 2 threads ns = wall time / calls</text>")
    out.append("</svg>")
    with open(svg_path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
