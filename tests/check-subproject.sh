#!/bin/sh
# SPDX-License-Identifier: MIT
# libsafekern as a meson subproject: examples/consumer's meson.build takes
# it through dependency('libsafekern') with a subproject fallback.
set -eu
srcroot=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$srcroot/examples/consumer" "$tmp/consumer"
sub="$tmp/consumer/subprojects/libsafekern"
mkdir -p "$sub"
# The source tree as a wrap or a submodule would give it: no build dirs.
tar -C "$srcroot" --exclude=./build --exclude=./builddir --exclude=./.git -cf - . |
	tar -C "$sub" -xf -
meson setup "$tmp/build" "$tmp/consumer" --force-fallback-for=libsafekern >"$tmp/setup.log" 2>&1 ||
	{ cat "$tmp/setup.log"; echo "FAIL: meson setup with libsafekern as a subproject"; exit 1; }
grep -q "Dependency libsafekern found: YES .*(overridden)" "$tmp/setup.log" ||
	{ cat "$tmp/setup.log"; echo "FAIL: libsafekern was not taken from the subproject"; exit 1; }
ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "FAIL: build"; exit 1; }
LD_LIBRARY_PATH="$tmp/build/subprojects/libsafekern/lib" "$tmp/build/consumer"
echo "ok: libsafekern works as a meson subproject"
