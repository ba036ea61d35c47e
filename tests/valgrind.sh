#!/bin/sh
# SPDX-License-Identifier: MIT
# meson test wrapper: run a test under a valgrind tool and fail on what the
# tool found, judging each process's own log (Criterion forks a worker per
# test, and valgrind's --error-exitcode alone does not fail such a run).
#   memcheck: any error, or any "definitely lost" bytes
#   helgrind, drd: any error
# Leaks "possibly lost" are not counted: liburcu's call_rcu worker shows so.
set -u
tool=$1
shift
logdir=$(mktemp -d "${TMPDIR:-/tmp}/sk-vg.XXXXXX")
supp=$(dirname "$0")/valgrind.supp

case $tool in
memcheck) opts="--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite" ;;
helgrind) opts="--history-level=approx" ;;
drd) opts="" ;;
*) echo "valgrind.sh: unknown tool $tool" >&2; exit 2 ;;
esac

SAFEKERN_VALGRIND=1 valgrind --tool="$tool" --trace-children=yes \
	--suppressions="$supp" --log-file="$logdir/vg.%p.log" \
	--child-silent-after-fork=no $opts "$@"
rc=$?

bad=0
for log in "$logdir"/vg.*.log; do
	[ -f "$log" ] || continue
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n1)
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | tail -n1)
	if [ "${errs:-0}" != 0 ] || [ "${lost:-0}" != 0 ]; then
		bad=1
		echo "==== valgrind $tool found problems: $log" >&2
		cat "$log" >&2
	fi
done
rm -rf "$logdir"
[ $bad = 0 ] || exit 1
exit $rc
