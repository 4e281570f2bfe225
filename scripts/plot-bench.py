#!/usr/bin/env python3
"""Plots the parse and relocate rows of `btfkit-bench --markdown` (stdin) to a PNG.

    python3 scripts/plot-bench.py docs/bench-parse-relocate.png < table.md

Each comparison is a pair of bars (btfkit, reference) with its time and the
ratio; the copy floor of the parse rows is a dashed line.
"""
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROW = re.compile(r"\| (.+?) \| ([\d.]+) ms \| (.+?): ([\d.]+) ms \|")
machine = ""
rows = []
floor = None
for line in sys.stdin:
    if line.startswith("Machine: "):
        machine = line[len("Machine: "):].split(";")[0].strip()
    m = ROW.match(line)
    if not m:
        continue
    workload, ours, ref, theirs = m.group(1), float(m.group(2)), m.group(3), float(m.group(4))
    if not workload.startswith(("parse", "read file", "relocate")):
        continue
    if "copy floor" in ref:
        floor = theirs
        continue
    rows.append((workload, ours, ref, theirs))


def short(text):
    """The name before its parenthesised details."""
    return re.split(r" \(|, per object", text)[0]


labels = [f"{re.sub(r' [(][^)]*records[)]', '', w)}\nvs {short(r)}" for w, _, r, _ in rows]
fig, ax = plt.subplots(figsize=(11, 0.85 * len(rows) + 1.8))
y = list(range(len(rows)))
ax.barh([i + 0.2 for i in y], [r[3] for r in rows], height=0.4, label="reference", color="#999999")
ax.barh([i - 0.2 for i in y], [r[1] for r in rows], height=0.4, label="btfkit", color="#1f77b4")
for i, (_, ours, _, theirs) in enumerate(rows):
    ax.text(ours * 1.08, i - 0.2, f"{ours:.2f} ms ({ours / theirs:.2f}×)", va="center", fontsize=7)
    ax.text(theirs * 1.08, i + 0.2, f"{theirs:.2f} ms", va="center", fontsize=7, color="#555555")
if floor:
    ax.axvline(floor, color="#d62728", linestyle="--", linewidth=1)
    ax.text(floor * 1.05, -0.75, f"copy floor {floor:.3f} ms", color="#d62728", fontsize=7)
ax.set_yticks(y)
ax.set_yticklabels(labels, fontsize=8)
ax.set_xscale("log")
ax.set_xlim(right=max(r[3] for r in rows) * 4)
ax.set_xlabel("milliseconds (median, log scale)")
ax.invert_yaxis()
ax.legend(loc="upper right")
title = "btfkit vs references on /sys/kernel/btf/vmlinux (one run)"
if machine:
    title += f"\n{machine}"
ax.set_title(title, fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[1], dpi=110)
