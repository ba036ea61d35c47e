#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kernel-doc for libsafekern's public headers.

    kerneldoc.py check  INCLUDE_DIR              every public name documented?
    kerneldoc.py list   INCLUDE_DIR              names that get a man page
    kerneldoc.py man    INCLUDE_DIR OUT_DIR      OUT_DIR/man3: a page per name,
                                                 OUT_DIR/man7/libsafekern.7
    kerneldoc.py markdown INCLUDE_DIR OUT_FILE   the API reference

A kernel-doc comment opens with "/**" and its first line names what it
documents:

    name() - summary          a function or function-like macro
    NAME - summary            an object-like macro
    struct name - summary     (also union, enum, typedef)

followed by "@arg: text" lines, a blank line, free text, and sections
"Return:", "Context:", "Example:".  One-line comments "/** NAME - summary */"
are accepted.

Public names: every function declared with SK_API, every static inline
function, every #define and every struct/union/enum/typedef tag in a header
under INCLUDE_DIR whose name starts with sk_ or SK_ (not sk__/SK__, which
are internal), except include guards.  `check` fails if any has no
kernel-doc comment naming it.
"""
import datetime
import os
import re
import sys

INTERNAL = re.compile(r"^(sk__|SK__|_sk_)")
PUBLIC = re.compile(r"^(sk_|SK_)")


class Doc:
    def __init__(self, header, name, kind, summary):
        self.header = header
        self.name = name
        self.kind = kind  # function, macro, struct, union, enum, typedef
        self.summary = summary
        self.params = []  # (name, text)
        self.body = []  # paragraphs (list of str)
        self.sections = []  # (title, text)
        self.decl = ""


def headers(inc):
    out = []
    for root, _, files in os.walk(inc):
        for f in sorted(files):
            if f.endswith(".h"):
                out.append(os.path.relpath(os.path.join(root, f), inc))
    return sorted(out)


def clean_comment(block):
    lines = block.split("\n")
    out = []
    for ln in lines:
        ln = ln.strip()
        if ln.startswith("/**"):
            ln = ln[3:]
        if ln.endswith("*/"):
            ln = ln[:-2]
        ln = ln.strip()
        if ln.startswith("*"):
            ln = ln[1:]
            if ln.startswith(" "):
                ln = ln[1:]
        out.append(ln.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


TITLE = re.compile(
    r"^(?:(struct|union|enum|typedef)\s+(\w+)|(\w+)\s*\(\)|(\w+))\s*-\s*(.*)$")
SECTION = re.compile(r"^(Return|Returns|Context|Example|Examples|Note|Notes|Description):\s*(.*)$")
PARAM = re.compile(r"^@(\w+|\.\.\.):\s*(.*)$")


def parse_block(header, lines):
    m = TITLE.match(lines[0].strip())
    if not m:
        return None
    if m.group(1):
        kind, name = m.group(1), m.group(2)
    elif m.group(3):
        kind, name = "function", m.group(3)
    else:
        kind, name = "macro", m.group(4)
    d = Doc(header, name, kind, m.group(5).strip())
    cur = None  # ("param", idx) / ("body",) / ("section", idx)
    para = []

    def flush():
        if para:
            d.body.append("\n".join(para))
            para.clear()

    for ln in lines[1:]:
        pm = PARAM.match(ln)
        sm = SECTION.match(ln)
        if pm and cur in (None, "param"):
            d.params.append([pm.group(1), pm.group(2)])
            cur = "param"
            continue
        if sm:
            flush()
            d.sections.append([sm.group(1).rstrip("s") if sm.group(1) == "Returns" else sm.group(1),
                               sm.group(2)])
            cur = "section"
            continue
        if cur == "param":
            if ln.strip() == "":
                cur = "body"
            else:
                d.params[-1][1] += " " + ln.strip()
            continue
        if cur == "section":
            if d.sections[-1][0].startswith("Example"):
                d.sections[-1][1] += "\n" + ln
            elif ln.strip() == "":
                d.sections[-1][1] += "\n"
            else:
                d.sections[-1][1] += ("" if d.sections[-1][1].endswith("\n") or not d.sections[-1][1] else " ") + ln.strip()
            continue
        cur = "body"
        if ln.strip() == "":
            flush()
        else:
            para.append(ln)
    flush()
    return d


def declaration_after(text, pos, name, kind):
    """The declaration of @name that follows a comment ending at pos."""
    rest = text[pos:]
    nxt = rest.find("/**")
    scope = rest if nxt < 0 else rest[:nxt]
    if kind in ("struct", "union", "enum"):
        m = re.search(r"^" + kind + r"\s+" + name + r"\s*\{", scope, re.M)
        if m:
            depth, i = 0, m.end() - 1
            while i < len(scope):
                if scope[i] == "{":
                    depth += 1
                elif scope[i] == "}":
                    depth -= 1
                    if depth == 0:
                        end = scope.find(";", i)
                        return scope[m.start():end + 1].strip()
                i += 1
        return f"{kind} {name};"
    m = re.search(r"^\s*#\s*define\s+(" + name + r"\b(\([^)]*\))?)", scope, re.M)
    if m:
        return "#define " + m.group(1)
    m = re.search(r"^[^#\n][^;{]*?\b" + name + r"\b[^;{]*", scope, re.M | re.S)
    if m:
        decl = " ".join(m.group(0).split())
        decl = re.sub(r"\bSK_API\s+", "", decl)
        if kind == "typedef":
            return decl + ";"
        # Drop trailing attribute macros (SK_ACQUIRES(m), SK_PRINTF(...)).
        decl = re.sub(r"\)\s+(SK_[A-Z_]+(\([^()]*(\([^()]*\))?[^()]*\))?\s*)+$", ")", decl)
        return decl + ";"
    return ""


def parse(inc):
    docs = []
    for h in headers(inc):
        text = open(os.path.join(inc, h)).read()
        for m in re.finditer(r"/\*\*(?!\*)(.*?)\*/", text, re.S):
            lines = clean_comment(m.group(0))
            if not lines:
                continue
            d = parse_block(h, lines)
            if d:
                d.decl = declaration_after(text, m.end(), d.name, d.kind)
                docs.append(d)
    return docs


def public_names(inc):
    """(header, name, what) for every public declaration."""
    names = []
    for h in headers(inc):
        text = open(os.path.join(inc, h)).read()
        # Drop comments so that names mentioned in prose do not count.
        code = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        code = re.sub(r"//[^\n]*", "", code)
        guard = re.search(r"#ifndef\s+(\w+)\s*\n\s*#define\s+\1\b", code)
        guard = guard.group(1) if guard else None
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)", code, re.M):
            n = m.group(1)
            if n != guard and PUBLIC.match(n) and not INTERNAL.match(n):
                names.append((h, n, "macro"))
        for m in re.finditer(r"\bSK_API\b[^;{]*?\b(\w+)\s*\(", code):
            n = m.group(1)
            if PUBLIC.match(n) and not INTERNAL.match(n):
                names.append((h, n, "function"))
        for m in re.finditer(r"^static\s+(?:inline|SK_ALWAYS_INLINE)\b[^;{=]*?\b(\w+)\s*\(", code, re.M):
            n = m.group(1)
            if PUBLIC.match(n) and not INTERNAL.match(n):
                names.append((h, n, "function"))
        for m in re.finditer(r"^(struct|union|enum)\s+(\w+)\s*\{", code, re.M):
            n = m.group(2)
            if PUBLIC.match(n) and not INTERNAL.match(n):
                names.append((h, n, m.group(1)))
        for m in re.finditer(r"^typedef\b[^;]*?\(?\*?\s*(\w+)\)?\s*(\([^;]*\))?\s*;", code, re.M):
            n = m.group(1)
            if PUBLIC.match(n) and not INTERNAL.match(n):
                names.append((h, n, "typedef"))
    seen, out = set(), []
    for t in names:
        if (t[0], t[1]) not in seen:
            seen.add((t[0], t[1]))
            out.append(t)
    return out


def cmd_check(inc):
    documented = {(d.header, d.name) for d in parse(inc)}
    # Enum constants documented as @NAME inside their enum's comment count too.
    for d in parse(inc):
        if d.kind == "enum":
            for p, _ in d.params:
                documented.add((d.header, p))
    missing = [(h, n, w) for h, n, w in public_names(inc) if (h, n) not in documented]
    for h, n, w in missing:
        print(f"undocumented {w}: {n} in {h}")
    total = len(public_names(inc))
    print(f"{total} public declarations, {total - len(missing)} documented, {len(missing)} missing")
    return 1 if missing else 0


def man_escape(s):
    s = s.replace("\\", "\\e")
    return "\n".join(("\\&" + ln if ln.startswith((".", "'")) else ln) for ln in s.split("\n"))


def man_inline(s):
    s = man_escape(s)
    s = re.sub(r"@(\w+)", r"\\fI\1\\fP", s)
    s = re.sub(r"\b(\w+)\(\)", r"\\fB\1\\fP()", s)
    return s


def page_names(docs):
    return sorted({d.name for d in docs if PUBLIC.match(d.name) and not INTERNAL.match(d.name)})


def cmd_man(inc, root, version):
    out = os.path.join(root, "man3")
    os.makedirs(out, exist_ok=True)
    os.makedirs(os.path.join(root, "man7"), exist_ok=True)
    docs = [d for d in parse(inc) if PUBLIC.match(d.name) and not INTERNAL.match(d.name)]
    by_header = {}
    for d in docs:
        by_header.setdefault(d.header, []).append(d.name)
    date = datetime.date.today().isoformat()
    if os.environ.get("SOURCE_DATE_EPOCH"):
        date = datetime.datetime.utcfromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"])).date().isoformat()
    written = 0
    for d in docs:
        title = d.name if d.kind in ("function", "macro", "typedef") else f"{d.kind} {d.name}"
        lines = [f'.TH "{d.name}" 3 "{date}" "libsafekern {version}" "libsafekern Manual"',
                 ".SH NAME", f"{d.name} \\- {man_escape(d.summary)}",
                 ".SH SYNOPSIS", ".nf", f".B #include <{d.header}>", ".PP",
                 man_escape(d.decl) if d.decl else man_escape(title), ".fi"]
        if d.params:
            lines.append(".SH ARGUMENTS" if d.kind in ("function", "macro") else ".SH MEMBERS")
            for p, t in d.params:
                lines += [".TP", f".I {p}", man_inline(t)]
        if d.body:
            lines.append(".SH DESCRIPTION")
            for para in d.body:
                lines += [man_inline(para), ".PP"]
        for title_s, text in d.sections:
            sec = {"Return": "RETURN VALUE", "Context": "CONTEXT", "Example": "EXAMPLE",
                   "Examples": "EXAMPLES", "Note": "NOTES", "Notes": "NOTES",
                   "Description": "DESCRIPTION"}.get(title_s, title_s.upper())
            lines.append(f".SH {sec}")
            if title_s.startswith("Example"):
                lines += [".nf", man_escape(text.strip("\n")), ".fi"]
            else:
                lines.append(man_inline(text.strip()))
        others = [n for n in by_header[d.header] if n != d.name][:30]
        lines.append(".SH SEE ALSO")
        lines.append(", ".join(f"\\fB{n}\\fP(3)" for n in others) + ("," if others else "")
                     + " \\fBlibsafekern\\fP(7)")
        with open(os.path.join(out, f"{d.name}.3"), "w") as f:
            f.write("\n".join(lines) + "\n")
        written += 1
    # The overview page.
    with open(os.path.join(root, "man7", "libsafekern.7"), "w") as f:
        f.write(f'.TH "libsafekern" 7 "{date}" "libsafekern {version}" "libsafekern Manual"\n'
                ".SH NAME\nlibsafekern \\- the kernel's hardened data structures for userspace C\n"
                ".SH DESCRIPTION\nHeaders and their documented names:\n")
        for h in sorted(by_header):
            f.write(f".TP\n.B <{h}>\n" + ", ".join(sorted(by_header[h])) + "\n")
    print(f"{written} man pages in {out}")
    return 0


def md_inline(s):
    return re.sub(r"@(\w+)", r"*\1*", s)


def cmd_markdown(inc, out, version):
    docs = [d for d in parse(inc) if PUBLIC.match(d.name) and not INTERNAL.match(d.name)]
    lines = [f"# libsafekern {version} API reference", "",
             "Generated from the kernel-doc comments in the public headers "
             "(scripts/kerneldoc.py); do not edit.", ""]
    by_header = {}
    for d in docs:
        by_header.setdefault(d.header, []).append(d)
    for h in sorted(by_header):
        lines += [f"- [`<{h}>`](#{h.replace('/', '').replace('.', '')})"]
    lines.append("")
    for h in sorted(by_header):
        lines += [f"## <{h}>", ""]
        for d in by_header[h]:
            label = f"{d.name}()" if d.kind == "function" else (
                d.name if d.kind in ("macro", "typedef") else f"{d.kind} {d.name}")
            lines += [f"### `{label}`", "", md_inline(d.summary), ""]
            if d.decl:
                lines += ["```c", d.decl, "```", ""]
            for p, t in d.params:
                lines.append(f"- `{p}`: {md_inline(t)}")
            if d.params:
                lines.append("")
            for para in d.body:
                lines += [md_inline(para), ""]
            for t, text in d.sections:
                if t.startswith("Example"):
                    lines += [f"**{t}:**", "", "```c", text.strip("\n"), "```", ""]
                else:
                    lines += [f"**{t}:** {md_inline(text.strip())}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"{len(docs)} entries in {out}")
    return 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cmd, inc = sys.argv[1], sys.argv[2]
    version = os.environ.get("SK_VERSION", "")
    if cmd == "check":
        return cmd_check(inc)
    if cmd == "list":
        for n in page_names(parse(inc)):
            print(n)
        return 0
    if cmd == "man":
        return cmd_man(inc, sys.argv[3], version)
    if cmd == "markdown":
        return cmd_markdown(inc, sys.argv[3], version)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
