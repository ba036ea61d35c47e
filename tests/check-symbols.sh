#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports only sk_* names, carries SONAME
# libsafekern.so.<soversion>, is marked NODELETE, and the static archive
# exists.
set -eu
so=$1 archive=$2 soversion=$3

defined=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }')
[ -n "$defined" ] || { echo "FAIL: $so exports nothing"; exit 1; }
bad=$(printf '%s\n' "$defined" | grep -v '^sk_' || true)
if [ -n "$bad" ]; then
	echo "FAIL: $so exports names outside sk_*:"
	printf '%s\n' "$bad"
	exit 1
fi
echo "ok: $(printf '%s\n' "$defined" | wc -l) exported symbols, all sk_*"

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libsafekern.so.$soversion" ]; then
	echo "FAIL: SONAME is '$soname', expected libsafekern.so.$soversion"
	exit 1
fi
echo "ok: SONAME $soname"

# Never unloaded by dlclose(): threads run its pthread-key destructors at exit.
readelf -d "$so" | grep -q 'FLAGS_1.*NODELETE' ||
	{ echo "FAIL: $so is not marked NODELETE (-z nodelete)"; exit 1; }
echo "ok: NODELETE"

[ -f "$archive" ] || { echo "FAIL: no static archive at $archive"; exit 1; }
nm --defined-only "$archive" | grep -q ' T sk_violation_count$' ||
	{ echo "FAIL: $archive lacks sk_violation_count"; exit 1; }
echo "ok: static archive $(basename "$archive")"
