#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Examples in the documentation compile and run.

Every ```c block in README.md and docs/*.md that has a main() is compiled
against the in-tree headers and library with -Wall -Wextra -Werror and run;
it must exit 0.  Blocks without main() must compile as a translation unit
(-c).  A block preceded by <!-- no-compile --> is skipped (fragments).
"""
import glob
import os
import re
import subprocess
import sys
import tempfile


def main():
    src, libdir = sys.argv[1], sys.argv[2]
    docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    failures = total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for doc in docs:
            text = open(doc).read()
            for m in re.finditer(r"(<!-- no-compile -->\s*)?```c\n(.*?)```", text, re.S):
                if m.group(1):
                    continue
                code = m.group(2)
                total += 1
                line = text[:m.start()].count("\n") + 1
                cfile = os.path.join(tmp, "ex.c")
                open(cfile, "w").write(code)
                exe = os.path.join(tmp, "ex")
                cmd = ["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I",
                       os.path.join(src, "include"), cfile]
                if "main(" in code:
                    cmd += ["-o", exe, "-L", libdir, "-Wl,-rpath," + libdir, "-lsafekern",
                            "-lpthread"]
                else:
                    cmd += ["-c", "-o", os.path.join(tmp, "ex.o")]
                r = subprocess.run(cmd, capture_output=True, text=True)
                where = f"{os.path.relpath(doc, src)}:{line}"
                if r.returncode != 0:
                    failures += 1
                    print(f"FAIL {where}: does not compile:\n{r.stderr}")
                    continue
                if "main(" in code:
                    r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
                    if r.returncode != 0:
                        failures += 1
                        print(f"FAIL {where}: exit {r.returncode}:\n{r.stdout}{r.stderr}")
                        continue
                print(f"ok {where}")
    print(f"{total} examples, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
