#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every public header compiles on its own.

For each header under include/ (safekern.h, safekern/*.h,
safekern/compat/*.h): a translation unit that includes only that header
must compile with -Wall -Wextra -Werror under gcc and clang (clang with
-Wthread-safety), at both check levels (plain and -DSK_DEBUG), and as C++
under g++ and clang++ unless the header says "safekern-header-test: c-only".
A header that needs the consumer to include something first (an RCU
flavour) names it in a line "safekern-header-test: prelude <urcu.h>".
"""
import os
import re
import subprocess
import sys
import tempfile

C_COMPILERS = ["gcc", "clang"]
CXX_COMPILERS = ["g++", "clang++"]

# Macros used, not only included: a header's macros can expand to what
# only one language accepts (sk_guard() expanded to _Static_assert, which
# g++ rejects, until 2026-11-26).
USES = {
    "safekern/lock.h": """
struct sk_header_test_box { struct sk_mutex lock; int v; };
int sk_header_test_use(struct sk_header_test_box *b);
int sk_header_test_use(struct sk_header_test_box *b)
{
	int v = 0;
	{
		sk_guard(mutex)(&b->lock);
		v += b->v;
	}
	sk_scoped_guard(mutex, &b->lock) {
		v += b->v;
	}
	sk_scoped_cond_guard(mutex_try, return -1, &b->lock) {
		v += b->v;
	}
	return v;
}
""",
}


def main():
    inc = sys.argv[1]
    headers = []
    for root, _, files in os.walk(inc):
        for f in sorted(files):
            if f.endswith(".h"):
                headers.append(os.path.relpath(os.path.join(root, f), inc))
    headers.sort()
    failures = 0
    checks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for h in headers:
            text = open(os.path.join(inc, h)).read()
            preludes = re.findall(r"safekern-header-test: prelude (<[^>]+>)", text)
            c_only = "safekern-header-test: c-only" in text
            src = "".join(f"#include {p}\n" for p in preludes)
            src += f"#include <{h}>\n"
            # Twice: the include guard must work.
            src += f"#include <{h}>\n"
            src += "int sk_header_test_dummy;\n"
            src += USES.get(h, "")
            cfile = os.path.join(tmp, "t.c")
            ccfile = os.path.join(tmp, "t.cc")
            open(cfile, "w").write(src)
            open(ccfile, "w").write(src)
            jobs = [(cc, cfile, ["-std=gnu11"]) for cc in C_COMPILERS]
            if not c_only:
                jobs += [(cxx, ccfile, ["-std=gnu++17"]) for cxx in CXX_COMPILERS]
            for cc, f, std in jobs:
                for level in ([], ["-DSK_DEBUG"]):
                    cmd = [cc] + std + ["-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                                        "-I", inc] + level + [f]
                    if cc.startswith("clang"):
                        cmd[1:1] = ["-Wthread-safety"]
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    checks += 1
                    if r.returncode != 0:
                        failures += 1
                        print(f"FAIL {h} with {' '.join(cmd[:1] + std + level)}:\n{r.stderr}")
    print(f"{len(headers)} headers, {checks} compilations, {failures} failed")
    return 1 if failures or not headers else 0


if __name__ == "__main__":
    sys.exit(main())
