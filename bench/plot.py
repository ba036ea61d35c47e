#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Chart of a benchmark run: each group's cases as ratios to its raw-C
baseline (1.0 = as fast as raw; lower is faster), one panel per group, from
the CSV files sk-bench writes.  Needs gnuplot (Debian: gnuplot-nox).

    bench/plot.py OUT.png RESULTS.csv [MORE.csv ...]
"""
import csv
import math
import os
import subprocess
import sys
import tempfile


def read(paths):
    machine = ""
    groups = {}
    for p in paths:
        if not os.path.exists(p):  # a filter that matched no case of a program
            continue
        with open(p) as f:
            lines = []
            for ln in f:
                if ln.startswith("#"):
                    machine = machine or ln.lstrip("# ").strip()
                else:
                    lines.append(ln)
        for row in csv.DictReader(lines):
            key = row["group"]
            if os.path.basename(p).startswith("sk-bench-"):
                key += " (" + os.path.basename(p)[len("sk-bench-"):-4] + ")"
            groups.setdefault(key, []).append(row)
    return machine, groups


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    out, paths = sys.argv[1], sys.argv[2:]
    machine, groups = read(paths)
    groups = {g: rows for g, rows in groups.items()
              if any(float(r["ratio_to_baseline"]) > 0 for r in rows)}
    if not groups:
        print("plot.py: no group with a baseline")
        return 1
    cols = 3 if len(groups) > 4 else max(1, len(groups))
    nrows = math.ceil(len(groups) / cols)
    with tempfile.TemporaryDirectory() as tmp:
        script = [
            f"set terminal pngcairo noenhanced size {max(cols * 520, 1100)},{nrows * 380 + 70} font ',9'",
            f"set output '{out}'",
            f"set multiplot layout {nrows},{cols} title \"{machine.replace(chr(34), '')}\\n"
            "ratio of each case's median ns/op to its group's raw-C baseline (lower is faster)\" font ',10'",
            "set style fill solid 0.8 border -1",
            "set boxwidth 0.7",
            "set yrange [0:*]",
            "set grid ytics",
            "set xtics rotate by -35 left font ',8'",
            "unset key",
            "set bmargin 9",
        ]
        for i, (g, rows) in enumerate(groups.items()):
            data = os.path.join(tmp, f"g{i}.dat")
            with open(data, "w") as f:
                for j, r in enumerate(rows):
                    name = r["case"].replace('"', "")
                    color = 0x999999 if r["baseline"] == "1" else (
                        0x2b8cbe if ("sk" in name or "hardened" in name or "debug" in name)
                        else 0xe6550d)
                    f.write(f'{j} "{name}" {float(r["ratio_to_baseline"]):.4f} {color}\n')
            script += [
                f"set title '{g}'",
                "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#444444'",
                f"plot '{data}' using 1:3:4:xtic(2) with boxes lc rgb variable",
            ]
        script.append("unset multiplot")
        gp = os.path.join(tmp, "plot.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            return 1
    print(f"chart: {out} ({len(groups)} groups; grey = raw baseline, blue = libsafekern, "
          "orange = peers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
