#!/usr/bin/env python3
"""Sums fuzz/long.sh's ledger per target: CPU seconds (user + system),
wall seconds, executions, the last slice's coverage (cov, ft) and corpus
files, and the slices that failed. Prints a Markdown table.

Usage: fuzz/ledger.py LEDGER.tsv [PREVIOUS_CPU_S...]
  PREVIOUS_CPU_S: target=seconds pairs added to the "cumulative" column
  (CPU spent in earlier sessions, not in this ledger).
"""

import csv
import sys


def main():
    path = sys.argv[1]
    previous = dict(a.split("=", 1) for a in sys.argv[2:])
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    targets = []
    for r in rows:
        if r["target"] not in targets:
            targets.append(r["target"])
    print("| target | CPU s (this ledger) | cumulative CPU s | wall s | execs | cov | ft | corpus files | failed slices |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in targets:
        mine = [r for r in rows if r["target"] == t]
        cpu = sum(float(r["cpu_s"]) for r in mine)
        wall = sum(float(r["wall_s"]) for r in mine)
        execs = sum(int(r["execs"]) for r in mine if r["execs"].isdigit())
        last = mine[-1]
        failed = sum(1 for r in mine if r["status"] != "0")
        cumulative = cpu + float(previous.get(t, 0))
        print(f"| `{t}` | {cpu:,.0f} | {cumulative:,.0f} | {wall:,.0f} | {execs:,} | {last['cov']} | {last['ft']} | {int(last['corpus_files']):,} | {failed} |")


if __name__ == "__main__":
    main()
