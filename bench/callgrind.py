#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Instructions per operation for every single-threaded bench case.

Runs each case under `valgrind --tool=callgrind --instr-atstart=no` twice,
with N and 2N iterations, instrumentation on around the measured loop
only, and reports (Ir(2N) - Ir(N)) / (ops(2N) - ops(N)): the cost of one
operation with the loop's own constant work cancelled.  Instruction counts
are exact and repeatable, so these ratios do not depend on machine noise.

    bench/callgrind.py BUILD/bench/sk-bench [--filter PATTERN] [--csv FILE]
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile


def run_case(bench, case, iters, tmp):
    """Runs @case for @iters iterations (None: the case's own default);
    returns (instructions, ops, iterations run)."""
    out = os.path.join(tmp, "cg.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                        f"--callgrind-out-file={out}", bench, "--callgrind", case]
                       + (["--iters", str(iters)] if iters else []),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{case}: {r.stderr[-2000:]}")
    m = re.search(r"iters=(\d+) ops=(\d+)", r.stdout)
    if not m:
        raise RuntimeError(f"{case}: no 'iters= ops=' line in {r.stdout!r}")
    iters, ops = int(m.group(1)), int(m.group(2))
    ir = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                ir = int(line.split()[1])
    os.unlink(out)
    return ir, ops, iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("--filter")
    ap.add_argument("--csv")
    ap.add_argument("--iters", type=int, default=0,
                    help="N (default: the case's own callgrind_iters, or 20000)")
    a = ap.parse_args()

    args = [a.bench, "--list"] + (["--filter", a.filter] if a.filter else [])
    cases = []
    for line in subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split("\t")
        threads = int(parts[1].split("=")[1])
        if threads <= 1:
            cases.append((parts[0], "baseline" in parts[2:]))
    rows = []
    base = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, is_base in cases:
            ir1, ops1, n = run_case(a.bench, name, a.iters or None, tmp)
            ir2, ops2, _ = run_case(a.bench, name, 2 * n, tmp)
            per = (ir2 - ir1) / (ops2 - ops1)
            group = name.split("/")[0]
            if is_base and group not in base:
                base[group] = per
            rows.append((group, name.split("/", 1)[1], per))
    print(f"{'group':16} {'case':34} {'instr/op':>10} {'ratio':>8} {'diff':>8}")
    out = open(a.csv, "w", newline="") if a.csv else None
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL) if out else None
    if writer:
        writer.writerow(["group", "case", "instructions_per_op", "ratio_to_baseline",
                         "diff_to_baseline"])
    for group, case, per in rows:
        b = base.get(group)
        ratio = f"{per / b:7.2f}x" if b else "       -"
        diff = f"{per - b:+8.1f}" if b is not None else "       -"
        print(f"{group:16} {case:34} {per:10.1f} {ratio} {diff}")
        if writer:
            writer.writerow([group, case, f"{per:.2f}", f"{per / b if b else 0:.4f}",
                             f"{per - b if b is not None else 0:.2f}"])
    if out:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
