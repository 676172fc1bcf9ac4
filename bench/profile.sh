#!/bin/sh
# bench/profile.sh: where fimscan spends its time on a tree: one baseline,
# one unchanged full rescan, one unchanged `rehash = changed` rescan.
# See bench/README.md.
#
#   bench/profile.sh [FIMSCAN [TREE]]   defaults: bench/out/build/fimscan /usr
#
# Needs perf (apt-get install linux-perf).  Uses the cpu-clock software
# event, so it also works in VMs without hardware counters.  Writes
# bench/out/perf/*.txt and prints a summary.  libcrypto has no symbols
# unless libssl3-dbgsym is installed: its samples are SHA-256.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fim=${1:-$here/out/build/fimscan}
tree=${2:-/usr}
dir=$here/out/perf
mkdir -p "$dir"
db=$dir/fimscan.db
command -v perf >/dev/null || { echo "profile.sh: perf missing" >&2; exit 1; }
unset FIMSCAN_CONFIG FIMSCAN_DB
printf 'hashes = sha256\nthreads = 0\nrehash = all\n' >"$dir/all.conf"
printf 'hashes = sha256\nthreads = 0\nrehash = changed\n' >"$dir/changed.conf"

echo "profile.sh: warming the page cache" >&2
find "$tree" -xdev -type f -print0 |
	xargs -0 -r -P "$(nproc)" -n 512 cat >/dev/null 2>&1 || :

# name conf command: perf stat, then perf record of the same command
# (a fresh store for "baseline"), then reports by thread and by symbol.
profile() {
	name=$1 conf=$2 cmd=$3
	for pass in stat record; do
		[ "$cmd" = baseline ] && rm -f "$db" "$db-wal" "$db-shm"
		if [ $pass = stat ]; then
			perf stat -e task-clock,context-switches,cpu-migrations,page-faults \
				-o "$dir/$name-stat.txt" -- \
				"$fim" -c "$dir/$conf" --db "$db" "$cmd" "$tree" >/dev/null || :
		else
			rm -f "$dir/$name.data"
			perf record -q -e cpu-clock -F 999 -o "$dir/$name.data" -- \
				"$fim" -c "$dir/$conf" --db "$db" "$cmd" "$tree" >/dev/null || :
		fi
	done
	# "pid" is the thread id: the walker is the lowest, then the writer,
	# then the workers.
	perf report -i "$dir/$name.data" --stdio --sort pid 2>/dev/null |
		grep -v -e '^#' -e '^$' >"$dir/$name-threads.txt" || :
	perf report -i "$dir/$name.data" --stdio --sort dso 2>/dev/null |
		grep -v -e '^#' -e '^$' >"$dir/$name-dsos.txt" || :
	perf report -i "$dir/$name.data" --stdio --no-children \
		--sort dso,sym --percent-limit 0.5 2>/dev/null |
		grep -v -e '^#' -e '^$' >"$dir/$name-symbols.txt" || :
	echo "== $name: fimscan $cmd $tree ($conf)"
	grep -E 'task-clock|elapsed|seconds user|seconds sys' "$dir/$name-stat.txt"
	echo "-- samples by thread"
	head -8 "$dir/$name-threads.txt"
	echo "-- by library"
	head -8 "$dir/$name-dsos.txt"
	echo "-- top symbols"
	head -15 "$dir/$name-symbols.txt"
	echo
}

# Thread states during a baseline: waiting on the pipeline, or on a CPU?
rm -f "$db" "$db-wal" "$db-shm"
echo "== thread states during fimscan baseline $tree (load average:" \
	"$(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
python3 "$here/threadstates.py" -- \
	"$fim" -c "$dir/all.conf" --db "$db" baseline "$tree" |
	tee "$dir/baseline-states.txt"
echo

profile baseline all.conf baseline
profile rescan all.conf scan
profile rescan-changed changed.conf scan
echo "(full reports in $dir)"
