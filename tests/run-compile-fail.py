#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compile-fail runner.

Each file under tests/compile-fail/ opens with comment lines:

    /* expect: REGEX */        the diagnostic the failing build must print
    /* compilers: gcc clang */ which compilers to try (default: both)
    /* flags: -DSK_DEBUG */    extra flags (optional)

The file must compile cleanly (-Wall -Wextra -Werror; clang also
-Wthread-safety) without FAIL defined, proving the test is not broken by
something else, and must fail with -DFAIL, printing a diagnostic that
matches REGEX.  Anything else fails the test.
"""
import re
import shutil
import subprocess
import sys


def header(text, key):
    m = re.search(r"/\*\s*" + key + r":\s*(.*?)\s*\*/", text)
    return m.group(1) if m else None


def main():
    inc, path = sys.argv[1], sys.argv[2]
    text = open(path).read()
    expect = header(text, "expect")
    if not expect:
        print(f"{path}: no /* expect: ... */ line")
        return 1
    compilers = (header(text, "compilers") or "gcc clang").split()
    flags = (header(text, "flags") or "").split()
    failed = False
    for cc in compilers:
        if not shutil.which(cc):
            print(f"{path}: compiler {cc} not found")
            return 1
        base = [cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-c", "-o", "/dev/null",
                "-D_GNU_SOURCE", "-I", inc] + flags
        if cc.startswith("clang"):
            base += ["-Wthread-safety", "-Wthread-safety-beta"]
        ok = subprocess.run(base + [path], capture_output=True, text=True)
        if ok.returncode != 0:
            print(f"FAIL {cc}: {path} does not compile without FAIL:\n{ok.stderr}")
            failed = True
            continue
        bad = subprocess.run(base + ["-DFAIL", path], capture_output=True, text=True)
        if bad.returncode == 0:
            print(f"FAIL {cc}: {path} compiles with -DFAIL; expected: {expect}")
            failed = True
        elif not re.search(expect, bad.stderr):
            print(f"FAIL {cc}: {path} fails for another reason; expected /{expect}/, got:\n{bad.stderr}")
            failed = True
        else:
            print(f"ok {cc}: {path}: {re.search(expect, bad.stderr).group(0)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
