# SPDX-License-Identifier: MIT
# Sourced by scripts/test and scripts/bench: make sure Debian packages are
# installed.  As root, install what is missing with apt-get; otherwise stop
# and print the exact command to run.

sk_need_packages() {
	missing=""
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case $status in
		*"install ok installed"*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		echo "==> installing Debian packages:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq || return 1
		apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
	else
		echo "Missing Debian packages. Run as root:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends$missing" >&2
		exit 1
	fi
}

# What building and testing libsafekern needs.
SK_TEST_PACKAGES="meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev \
python3 valgrind man-db liburcu-dev libjemalloc-dev libcriterion-dev libck-dev make binutils"

# What the benchmark run needs on top (peers, plots).
SK_BENCH_PACKAGES="$SK_TEST_PACKAGES libdpdk-dev gnuplot-nox"
