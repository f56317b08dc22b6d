#!/usr/bin/env python3
"""Plot a pipelinebench -soak CSV: throughput and memory over time.

    python3 bench/pipeline/plot.py [bench/out/pipeline-soak.csv [bench/out/pipeline-soak.png]]

Needs matplotlib (pip install matplotlib). The memory panel carries the
least-squares slope of each series over the second half of the run, the
figure the "no heap growth" claim rests on.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/out/pipeline-soak.csv"
    dst = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".", 1)[0] + ".png"
    with open(src, newline="") as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    if not rows:
        sys.exit(f"plot.py: {src} has no samples")
    t = [r["elapsed_s"] / 60 for r in rows]
    half = len(rows) // 2

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.plot(t, [r["events_per_s"] for r in rows], marker=".", color="tab:blue")
    top.set_ylabel("events/s (interval)")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    top.set_title("drivetrain pipeline soak: decode → state → join, one goroutine")

    for col, label, color in [
        ("rss_mb", "RSS", "tab:red"),
        ("heap_objects_mb", "Go heap in use", "tab:orange"),
        ("heap_live_mb", "Go heap live (last GC)", "tab:green"),
    ]:
        ys = [r[col] for r in rows]
        s = slope(t[half:], ys[half:])
        bottom.plot(t, ys, marker=".", color=color, label=f"{label} ({s:+.2f} MB/min, 2nd half)")
    bottom.set_ylabel("MB")
    bottom.set_xlabel("minutes")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    bottom.legend(loc="center right")

    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"plot.py: wrote {dst}")


if __name__ == "__main__":
    main()
