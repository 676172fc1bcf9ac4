#!/bin/sh
# bench/bytes.sh: the figures of issue 3 (changed byte ranges).
#
#   (a) chunking overhead: CPU time (user + sys) of `fimscan baseline TREE`
#       with chunking, and with the benchmark knob FIMSCAN_NO_CHUNKS=1
#       (scanner.h) that skips the chunker; runs alternate, medians, ratio
#       (target <= 1.15), and the same for the user time alone
#   (b) chunk-list size: sum(length(list)) of the clist table against the
#       bytes of the regular files the baseline read (target <= 0.3%)
#   (c) a 1 GiB random file with three small edits (an overwrite, an
#       insertion, a deletion): wall time of `fimscan diff --bytes -- FILE`
#       between its two versions from stored lists (target < 0.5 s) and
#       with exact refinement from kept content (target < 2 s)
#
# Not a test: it needs minutes, root (to read all of /usr) and about 3 GB
# under bench/out/bytes. Prints a markdown section (also written to
# bench/out/bytes/results.md) and keeps every raw figure in
# bench/out/bytes/runs.txt.
#
#   bench/bytes.sh [-n RUNS] [--no-build] [--perf] [TREE]
#
# -n RUNS     repetitions of each baseline in (a), default 3
# --no-build  reuse bench/out/bytes/build/fimscan
# --perf      also profile the (c) diffs and the chunked baseline with perf
# TREE        the tree for (a) and (b), default /usr
set -eu

RUNS=3
BUILD=1
PERF=0
TREE=/usr
while [ $# -gt 0 ]; do
	case $1 in
	-n) RUNS=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	--perf) PERF=1; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	-*) echo "bytes.sh: unknown option $1" >&2; exit 16 ;;
	*) TREE=$1; shift ;;
	esac
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$SRC/bench/out/bytes
FIM=$OUT/build/fimscan
mkdir -p "$OUT"
RUNLOG=$OUT/runs.txt
: >"$RUNLOG"
T_CPU=0
T_USER=0
T_WALL=0
: >"$OUT/empty.conf"

if [ $BUILD -eq 1 ]; then
	cmake -S "$SRC" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_TESTING=OFF >"$OUT/cmake.log" 2>&1 &&
	cmake --build "$OUT/build" --target fimscan -j"$(nproc)" \
		>>"$OUT/cmake.log" 2>&1 ||
		{ echo "bytes.sh: build failed, see $OUT/cmake.log" >&2; exit 1; }
fi

# timed LABEL CMD...: run CMD (output to LABEL.log), add "LABEL user sys
# wall exit" to the run log, and set T_CPU (user + sys) and T_WALL, in
# seconds. A status from 16 up stops the benchmark.
timed() {
	label=$1
	shift
	python3 - "$OUT/$label.log" "$@" >"$OUT/timed.out" <<'PY'
import resource, subprocess, sys, time
log, cmd = sys.argv[1], sys.argv[2:]
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
with open(log, "w") as f:
    rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
wall = time.monotonic() - t0
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f %.3f %d" % (r1.ru_utime - r0.ru_utime,
                             r1.ru_stime - r0.ru_stime, wall, rc))
PY
	read -r t_u t_s T_WALL t_rc <"$OUT/timed.out"
	echo "$label $t_u $t_s $T_WALL $t_rc" >>"$RUNLOG"
	if [ "$t_rc" -ge 16 ]; then
		echo "bytes.sh: $label failed ($t_rc), see $OUT/$label.log" >&2
		exit 1
	fi
	T_CPU=$(echo "$t_u $t_s" | awk '{ printf "%.3f", $1 + $2 }')
	T_USER=$t_u
}

median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bytes.sh: warming the page cache over $TREE" >&2
find "$TREE" -xdev -type f -print0 2>/dev/null |
	xargs -0 -P 2 -n 256 cat >/dev/null 2>&1 || :

# ---- (a) chunking overhead, (b) chunk-list size ------------------------
: >"$OUT/cpu.chunks"
: >"$OUT/cpu.nochunks"
: >"$OUT/user.chunks"
: >"$OUT/user.nochunks"
: >"$OUT/wall.chunks"
: >"$OUT/wall.nochunks"
i=1
while [ "$i" -le "$RUNS" ]; do
	for mode in chunks nochunks; do
		db=$OUT/$mode.db
		rm -f "$db" "$db-wal" "$db-shm"
		echo "bytes.sh: run $i/$RUNS, baseline $TREE, $mode" >&2
		if [ $mode = chunks ]; then
			set -- env -u FIMSCAN_NO_CHUNKS
		else
			set -- env FIMSCAN_NO_CHUNKS=1
		fi
		timed "baseline-$mode-$i" "$@" "$FIM" -q -c "$OUT/empty.conf" \
			--db "$db" baseline "$TREE"
		echo "$T_CPU" >>"$OUT/cpu.$mode"
		echo "$T_USER" >>"$OUT/user.$mode"
		echo "$T_WALL" >>"$OUT/wall.$mode"
	done
	i=$((i + 1))
done
cpu_c=$(median <"$OUT/cpu.chunks")
cpu_n=$(median <"$OUT/cpu.nochunks")
wall_c=$(median <"$OUT/wall.chunks")
wall_n=$(median <"$OUT/wall.nochunks")
ratio=$(echo "$cpu_c $cpu_n" | awk '{ printf "%.3f", $1 / $2 }')
# The system time is the same work in both modes and swings by seconds
# between identical runs on a shared VM: the user time says what chunking
# adds with less noise.
user_c=$(median <"$OUT/user.chunks")
user_n=$(median <"$OUT/user.nochunks")
uratio=$(echo "$user_c $user_n" | awk '{ printf "%.3f", $1 / $2 }')

q() { sqlite3 "$OUT/chunks.db" "$1"; }
files=$(q "SELECT count(*) FROM version WHERE mode & 61440 = 32768")
data=$(q "SELECT sum(size) FROM version WHERE mode & 61440 = 32768")
lists=$(q "SELECT count(*) FROM clist")
listbytes=$(q "SELECT sum(length(list)) FROM clist")
chunks=$(q "SELECT sum(nchunks) FROM clist")
# the whole table, with keys, record headers and b-tree pages
tablebytes=$(q "SELECT sum(pgsize) FROM dbstat WHERE name IN
	('clist', 'sqlite_autoindex_clist_1')" 2>/dev/null || echo 0)
pct=$(echo "$listbytes $data" | awk '{ printf "%.3f", 100 * $1 / $2 }')
pct_table=$(echo "$tablebytes $data" | awk '{ printf "%.3f", 100 * $1 / $2 }')
sizes=$(ls -l "$OUT/chunks.db" | awk '{ print $5 }')
sizes_n=$(ls -l "$OUT/nochunks.db" | awk '{ print $5 }')

# ---- (c) a 1 GiB file, three edits ------------------------------------
BIG=$OUT/big
rm -rf "$BIG"
mkdir -p "$BIG/tree"
F=$BIG/tree/big.bin
echo "bytes.sh: writing a 1 GiB random file" >&2
head -c 1073741824 /dev/urandom >"$F"
cp "$F" "$BIG/orig.bin"
printf 'content-max-file = 2G\ncontent-max-total = 2G\n' >"$BIG/keep.conf"

# edit: overwrite 64 bytes at 100 MiB, insert 10 at 500 MiB, delete 10 at
# 900 MiB (the last two rewrite the file, as an editor would)
edit() {
	printf 'sixty-four bytes of a small edit, in the middle of a big file..' |
		dd of="$F" bs=1 seek=104857600 conv=notrunc 2>/dev/null
	python3 - "$F" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[500 << 20:500 << 20] = b"0123456789"
del d[(900 << 20) + 10:(900 << 20) + 20]
open(p, "r+b").write(d)
open(p, "r+b").truncate(len(d))
PY
}

for kind in lists content; do
	db=$BIG/$kind.db
	rm -f "$db" "$db-wal" "$db-shm"
	cp "$BIG/orig.bin" "$F"
	if [ $kind = content ]; then
		set -- -c "$BIG/keep.conf" --db "$db"
		keep=--keep-content
	else
		set -- -c "$OUT/empty.conf" --db "$db"
		keep=
	fi
	echo "bytes.sh: 1 GiB file, $kind: baseline, edit, scan" >&2
	timed "big-$kind-baseline" "$FIM" -q "$@" baseline $keep "$BIG/tree"
	edit
	timed "big-$kind-scan" "$FIM" -q "$@" scan $keep "$BIG/tree"
	"$FIM" "$@" diff --bytes --format json -- "$F" >"$BIG/$kind.json" || :
	: >"$BIG/wall.$kind"
	r=1
	while [ $r -le 5 ]; do
		timed "big-$kind-diff-$r" "$FIM" "$@" diff --bytes -- "$F"
		echo "$T_WALL" >>"$BIG/wall.$kind"
		r=$((r + 1))
	done
	if [ $PERF -eq 1 ]; then
		perf record -g -o "$BIG/perf-$kind.data" -- \
			"$FIM" "$@" diff --bytes -- "$F" >/dev/null 2>&1 || :
		perf report -i "$BIG/perf-$kind.data" --no-children --stdio \
			2>/dev/null | grep -v '^$' | head -60 >"$BIG/perf-$kind.txt" || :
	fi
done
big_lists=$(median <"$BIG/wall.lists")
big_content=$(median <"$BIG/wall.content")
# what each diff said
summ() {
	python3 - "$1" <<'PY'
import json, sys
it = json.load(open(sys.argv[1]))["changed"][0]
print("%s, %d ranges, %d bytes changed" % (it["bytes"]["state"],
      len(it["ranges"]), it["bytes"]["bytes_changed"]))
PY
}
said_lists=$(summ "$BIG/lists.json")
said_content=$(summ "$BIG/content.json")
content_db=$(ls -l "$BIG/content.db" | awk '{ print $5 }')

if [ $PERF -eq 1 ]; then
	echo "bytes.sh: perf of the chunked baseline" >&2
	rm -f "$OUT/perf.db"*
	perf record -g -o "$OUT/perf-baseline.data" -- "$FIM" -q \
		-c "$OUT/empty.conf" --db "$OUT/perf.db" baseline "$TREE" \
		>/dev/null 2>&1 || :
	perf report -i "$OUT/perf-baseline.data" --no-children --stdio \
		--sort symbol 2>/dev/null | grep -E '^ +[0-9]' | head -25 \
		>"$OUT/perf-baseline.txt" || :
fi

verdict() {
	echo "$1 $2" | awk '{ print ($1 <= $2) ? "**pass**" : "**FAIL**" }'
}
{
	echo "## Byte ranges (issue 3): \`bench/bytes.sh\`"
	echo
	echo "- **Date:** $(date -u '+%Y-%m-%d %H:%M UTC'); load average" \
	     "at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	if [ $BUILD -eq 1 ]; then
		dirty=$(git -C "$SRC" status --porcelain 2>/dev/null | head -1)
		echo "- **fimscan:** $(git -C "$SRC" rev-parse --short HEAD \
		     2>/dev/null || echo '?')${dirty:+ plus the working tree}," \
		     "Release build."
	else
		echo "- **fimscan:** the binary already in $FIM (--no-build)."
	fi
	echo "- **Tree:** $TREE: $files regular files, $data bytes; warm page" \
	     "cache; medians of $RUNS alternating runs of each."
	echo
	echo "| measure | figure | target | result |"
	echo "|---|---:|---|---|"
	echo "| \`baseline $TREE\` CPU (user+sys), chunking on / off | $cpu_c s / $cpu_n s = **$ratio** | <= 1.15 | $(verdict "$ratio" 1.15) |"
	echo "| the same, user time only (less noise) | $user_c s / $user_n s = $uratio | - | - |"
	echo "| \`baseline $TREE\` wall, chunking on / off | $wall_c s / $wall_n s | - | - |"
	echo "| chunk lists: sum(length(list)) / file bytes | $listbytes B / $data B = **$pct%** | <= 0.3% | $(verdict "$pct" 0.3) |"
	echo "| the clist table with keys and b-tree pages (dbstat) | $tablebytes B = $pct_table% | - | - |"
	echo "| 1 GiB file, 3 edits: \`diff --bytes\` from stored lists, wall | **$big_lists s** ($said_lists) | < 0.5 s | $(verdict "$big_lists" 0.4999) |"
	echo "| the same, exact refinement from kept content, wall | **$big_content s** ($said_content) | < 2 s | $(verdict "$big_content" 1.9999) |"
	echo
	echo "- Chunk lists: $lists lists, $chunks chunks (mean" \
	     "$(echo "$data $chunks" | awk '{ printf "%.0f", $1 / $2 }') B)." \
	     "Store after the baseline: $sizes B with chunking, $sizes_n B" \
	     "without."
	echo "- 1 GiB store with its content kept: $content_db B."
	echo "- Raw figures (label user sys wall exit): \`bench/out/bytes/runs.txt\`."
} | tee "$OUT/results.md"
