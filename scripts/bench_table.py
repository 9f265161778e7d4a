#!/usr/bin/env python3
"""Merges the --json output of Liaison's benchmark runs into one table of medians.

usage: bench_table.py SECTION=FILE[,FILE...] ...
Each FILE is one run's JSON (a list of {name, value, unit, and either against or baseline/ratio});
figures of the same name across a section's runs are reduced to their median, with the range.
"""
import json
import statistics
import sys


def main() -> int:
    sections = []
    for arg in sys.argv[1:]:
        name, _, files = arg.partition("=")
        runs = []
        for f in files.split(","):
            try:
                with open(f, encoding="utf-8") as fh:
                    runs.append(json.load(fh))
            except (OSError, ValueError) as e:
                print(f"bench_table: {f}: {e}", file=sys.stderr)
                return 1
        sections.append((name, runs))
    print(f"{'figure':<50} {'median':>12}  {'unit':<6} {'range of runs':<22} note")
    for name, runs in sections:
        print(f"-- {name} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
        order, values, meta = [], {}, {}
        for run in runs:
            for row in run:
                key = row["name"]
                if key not in values:
                    order.append(key)
                    values[key] = []
                    note = row.get("against") or row.get("baseline") or ""
                    if row.get("ratio"):
                        note = f"{note} (x{row['ratio']:.2f})"
                    meta[key] = (row.get("unit", ""), note)
                values[key].append(float(row["value"]))
        for key in order:
            v = values[key]
            unit, note = meta[key]
            spread = f"{min(v):.2f}-{max(v):.2f}" if len(v) > 1 else ""
            print(f"{key:<50} {statistics.median(v):>12.2f}  {unit:<6} {spread:<22} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
