#!/usr/bin/env python3
"""Plots the parse and relocate rows of `btfkit-bench --markdown` (stdin) to a PNG."""
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = []
for line in sys.stdin:
    m = re.match(r"\| (.+?) \| ([\d.]+) ms \| (.+?): ([\d.]+) ms \|", line)
    if m and (m.group(1).startswith("parse") or m.group(1).startswith("relocate")):
        rows.append((m.group(1), float(m.group(2)), m.group(3), float(m.group(4))))
labels, ours, refs = [], [], []
for workload, a, ref, b in rows:
    if "copy floor" in ref:
        continue
    labels.append(f"{workload}\nvs {ref.split(' (')[0]}")
    ours.append(a)
    refs.append(b)
fig, ax = plt.subplots(figsize=(10, 0.9 * len(labels) + 1.5))
y = range(len(labels))
ax.barh([i + 0.2 for i in y], refs, height=0.4, label="reference", color="#999999")
ax.barh([i - 0.2 for i in y], ours, height=0.4, label="btfkit", color="#1f77b4")
ax.set_yticks(list(y))
ax.set_yticklabels(labels, fontsize=8)
ax.set_xscale("log")
ax.set_xlabel("milliseconds (median, log scale)")
ax.invert_yaxis()
ax.legend()
ax.set_title("btfkit vs references on /sys/kernel/btf/vmlinux (one run)")
fig.tight_layout()
fig.savefig(sys.argv[1], dpi=110)
