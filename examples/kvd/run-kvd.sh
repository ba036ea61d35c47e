#!/bin/sh
# SPDX-License-Identifier: MIT
# run-kvd.sh KVD KVLOAD [KVLOAD OPTIONS...]
# Starts KVD on an ephemeral loopback port (under $KVD_WRAPPER if set, e.g.
# "valgrind --leak-check=full"), runs KVLOAD against it, sends SIGTERM, and
# fails unless both exit 0: every reply right, a clean shutdown (no live
# objects, no violations, nothing leaked).
set -u
kvd=$1 kvload=$2
shift 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

${KVD_WRAPPER:-} "$kvd" -p 0 -P "$tmp/port" -I "$tmp/pid" ${KVD_ARGS:-} &
pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
		echo "run-kvd: kvd did not start"
		kill $pid 2>/dev/null
		exit 1
	fi
	sleep 0.1
done
"$kvload" -p "$(cat "$tmp/port")" "$@"
load=$?
kill -TERM "$(cat "$tmp/pid")"
wait $pid
daemon=$?
echo "run-kvd: kvload exit $load, kvd exit $daemon"
[ $load = 0 ] && [ $daemon = 0 ]
