#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A program built with ThreadSanitizer against this (uninstrumented)
# library: lock.h's inline spinlock paths call the pthread spinlock
# functions there, which TSan intercepts, so the library's out-of-line
# paths must call them too (lib/lockdep.c: under_tsan()), or TSan sees the
# out-of-line unlocks as no release at all and reports data races in code
# that is correctly locked.  Runs tests/stress/lock-stress.c so built, with
# the validator off (contended locks go out of line) and on (every
# operation does).  Then a program with one unit built with TSan and one
# without (tests/tsan-mixed/): the plain unit's inline paths must not take
# a lock word that TSan saw taken by a pthread call, so in a process with
# the TSan runtime every lock operation goes out of line (lib/lockdep.c).
# Skipped (77) without clang or a TSan runtime.
set -eu
src=$1 build=$2 libdir=$3
command -v clang >/dev/null 2>&1 || { echo "skip: no clang"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! clang -fsanitize=thread -O1 -g -std=gnu11 -D_GNU_SOURCE -pthread \
	-I"$src/include" -I"$build/include" -I"$src/tests" \
	"$src/tests/stress/lock-stress.c" -o "$tmp/lock-stress" \
	-L"$libdir" -lsafekern -Wl,-rpath,"$libdir" 2>"$tmp/cc.log"; then
	if grep -q -i 'tsan\|sanitize' "$tmp/cc.log"; then
		cat "$tmp/cc.log"; echo "skip: no TSan runtime"; exit 77
	fi
	cat "$tmp/cc.log"; exit 1
fi
for lockdep in 0 1; do
	if ! SAFEKERN_LOCKDEP=$lockdep SAFEKERN_TEST_SCALE=0.2 \
		TSAN_OPTIONS="halt_on_error=1 suppressions=$src/tests/tsan.supp" \
		"$tmp/lock-stress" >"$tmp/run.log" 2>&1; then
		cat "$tmp/run.log"
		echo "FAIL: TSan program on the uninstrumented library, SAFEKERN_LOCKDEP=$lockdep"
		exit 1
	fi
	echo "ok: SAFEKERN_LOCKDEP=$lockdep"
done

mixed=$src/tests/tsan-mixed
clang -O1 -g -std=gnu11 -D_GNU_SOURCE -pthread -I"$src/include" -I"$build/include" \
	-c "$mixed/plain.c" -o "$tmp/plain.o"
clang -fsanitize=thread -O1 -g -std=gnu11 -D_GNU_SOURCE -pthread \
	-I"$src/include" -I"$build/include" "$mixed/main.c" "$tmp/plain.o" -o "$tmp/mixed" \
	-L"$libdir" -lsafekern -Wl,-rpath,"$libdir"
if ! SAFEKERN_LOCKDEP=0 TSAN_OPTIONS="halt_on_error=1 suppressions=$src/tests/tsan.supp" \
	"$tmp/mixed" >"$tmp/run.log" 2>&1; then
	cat "$tmp/run.log"
	echo "FAIL: a TSan unit and a plain unit sharing a mutex"
	exit 1
fi
cat "$tmp/run.log"
echo "ok: mixed units"
