#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the build into a temporary DESTDIR, then build examples/consumer
# out of tree with nothing but pkg-config, and run it.
set -eu
builddir=$1 srcdir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$builddir" --no-rebuild --destdir "$tmp/root" --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pcfile=$(find "$tmp/root" -name libsafekern.pc | head -n1)
[ -n "$pcfile" ] || { echo "FAIL: libsafekern.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=$(pkg-config --variable=libdir libsafekern)

echo "pkg-config --cflags --libs libsafekern: $(pkg-config --cflags --libs libsafekern)"
cp -r "$srcdir" "$tmp/consumer"
make -s -C "$tmp/consumer" clean all
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer"

# The same program with the static archive linked in: no libsafekern.so needed.
make -s -C "$tmp/consumer" static
if ldd "$tmp/consumer/consumer-static" | grep -q libsafekern; then
	echo "FAIL: consumer-static still needs libsafekern.so"
	exit 1
fi
"$tmp/consumer/consumer-static"

# The example daemon, out of tree with its own Makefile: hardened and
# DEBUG=1, a small run each (every reply checked, clean shutdown).
if pkg-config --exists liburcu; then
	cp -r "$srcdir/../kvd" "$tmp/kvd"
	for dbg in 0 1; do
		make -s -C "$tmp/kvd" clean all DEBUG=$dbg CFLAGS="-O2 -Wall -Wextra -Werror" ||
			{ echo "FAIL: examples/kvd does not build out of tree (DEBUG=$dbg)"; exit 1; }
		LD_LIBRARY_PATH="$libdir" SAFEKERN_VIOLATION=abort sh "$tmp/kvd/run-kvd.sh" \
			"$tmp/kvd/kvd" "$tmp/kvd/kvload" -c 4 -n 50 >"$tmp/kvd.log" 2>&1 ||
			{ cat "$tmp/kvd.log"; echo "FAIL: out-of-tree kvd run (DEBUG=$dbg)"; exit 1; }
	done
	echo "ok: examples/kvd built out of tree with pkg-config (hardened and DEBUG=1) and served"
fi

# man finds the installed pages.
mandir=$(dirname "$libdir")
mandir=${mandir%/lib}/share/man
for page in sk_violation_count sk_kmalloc sk_container_of; do
	man -M "$mandir" -w "$page" >/dev/null 2>&1 ||
		{ echo "FAIL: man cannot find $page(3) under the install prefix"; exit 1; }
done
[ -f "$mandir/man7/libsafekern.7" ] || { echo "FAIL: libsafekern(7) not installed"; exit 1; }
echo "ok: static consumer ran; man pages found after install"

# The SONAME link and the static archive are installed too.
[ -L "$libdir/libsafekern.so.0" ] || { echo "FAIL: libsafekern.so.0 link missing"; exit 1; }
[ -f "$libdir/libsafekern.a" ] || { echo "FAIL: libsafekern.a not installed"; exit 1; }
echo "ok: consumer built with pkg-config and ran"
