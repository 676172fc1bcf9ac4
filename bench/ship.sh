#!/bin/sh
# bench/ship.sh: shipping throughput and memory against the mock
# Elasticsearch (tests/mock/mock_es.py, which checks every document as a
# real cluster would), for issue 5's targets: at least 20,000 events/s, and
# a backlog of 1,000,000 events drained without growth in RSS.
#
#   bench/ship.sh                 both runs (about 2 minutes, 3 GB free)
#   bench/ship.sh -n 200000       the throughput run's size
#   bench/ship.sh -b 1000000      the backlog run's size
#   FIMSCAN=path bench/ship.sh    use that binary (default: a Release
#                                 build in bench/out/build-ship)
#
# The events: a real scan of a generated tree queues 1,000 ECS documents;
# the outbox is then filled to N by copying them in SQL with fresh _ids
# (the mock refuses a repeated _id, so every copy is a new document).
# Then `fimscan ship` runs with the default batch size while its RSS is
# sampled every 0.5 s; the report says events/s, CPU, the RSS once 10%,
# 50% and 90% of the events were delivered and at the end, and the peak. Everything goes to
# bench/out/ship/; the report is printed and kept in results.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$here/out/ship
n=200000
backlog=1000000
while getopts n:b:h o; do
	case $o in
	n) n=$OPTARG ;;
	b) backlog=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 0 ;;
	esac
done

if [ -z "${FIMSCAN:-}" ]; then
	cmake -S "$src" -B "$here/out/build-ship" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_TESTING=OFF >/dev/null
	cmake --build "$here/out/build-ship" -j"$(nproc)" >/dev/null
	FIMSCAN=$here/out/build-ship/fimscan
fi
rm -rf "$out"
mkdir -p "$out"
cd "$out"
export FIMSCAN_DB=$out/store.db NO_COLOR=1

python3 "$src/tests/mock/mock_es.py" --ready-file "$out/port" \
	>"$out/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || :' EXIT
i=0
while [ ! -s "$out/port" ]; do
	i=$((i + 1))
	[ $i -lt 1000 ] || { echo "mock did not start" >&2; exit 1; }
	kill -0 $mock || { cat "$out/mock.log" >&2; exit 1; }
	sleep 0.01
done
port=$(cat "$out/port")
printf 'elasticsearch = http://127.0.0.1:%s\nes-insecure-http = yes\noutbox-max = 100000000\n' \
	"$port" >"$out/ship.conf"
export FIMSCAN_CONFIG=$out/ship.conf

# 1,000 real events.
mkdir -p tree/etc
for f in a b c; do echo "$f" >"tree/etc/$f"; done
"$FIMSCAN" -q baseline tree
python3 - <<'PY'
import os
os.makedirs("tree/new")
for i in range(998):
    with open("tree/new/f%04d.conf" % i, "w") as f:
        f.write("setting = %d\n" % i)
PY
"$FIMSCAN" -q scan tree >/dev/null 2>&1 || :
base=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
sqlite3 "$FIMSCAN_DB" 'CREATE TABLE tpl AS SELECT doc_id, doc FROM outbox;
	DELETE FROM outbox; UPDATE meta SET value = 0 WHERE key LIKE "outbox.%"'

# fill N: the outbox holds N copies of the templates with fresh _ids
fill() {
	sqlite3 "$FIMSCAN_DB" "
	WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k
	                        WHERE i < ($1 + $base - 1) / $base),
	ids AS (SELECT t.doc_id AS old, t.doc AS doc,
	               lower(hex(randomblob(20))) AS new
	        FROM k, tpl t)
	INSERT INTO outbox(snap, time, ns, doc_id, doc)
	SELECT 2, 0, 'default', new, CAST(replace(doc, old, new) AS BLOB)
	FROM ids LIMIT $1;
	UPDATE meta SET value = value + $1 WHERE key = 'outbox.enqueued';"
}

# run NAME N: fill, ship while sampling RSS, print a table row
run() {
	fill "$2"
	size=$(du -m "$FIMSCAN_DB" | cut -f1)
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S %M' -o "$out/$1.time" "$FIMSCAN" -q ship &
	tpid=$!
	: >"$out/$1.rss"
	while kill -0 $tpid 2>/dev/null; do
		pid=$(pgrep -P $tpid fimscan || :)
		if [ -n "$pid" ]; then
			d=$(sqlite3 "$FIMSCAN_DB" "SELECT value FROM meta WHERE key = 'outbox.delivered'" 2>/dev/null || echo 0)
			r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || :)
			[ -n "$r" ] && echo "$d $r" >>"$out/$1.rss"
		fi
		sleep 0.5
	done
	wait $tpid
	end=$(date +%s.%N)
	pend=$(sqlite3 "$FIMSCAN_DB" "SELECT count(*) FROM outbox")
	[ "$pend" -eq 0 ] || { echo "$pend events left" >&2; exit 1; }
	python3 - "$1" "$2" "$start" "$end" "$out/$1.time" "$out/$1.rss" "$size" <<'PY'
import sys
name, n, t0, t1, tf, rf, size = sys.argv[1:]
n = int(n)
secs = float(t1) - float(t0)
user, sys_, peak = open(tf).read().split()
rows = [tuple(map(int, l.split())) for l in open(rf) if l.strip()]
def at(frac):
    r = [r for d, r in rows if d >= n * frac]
    return "%.1f" % (r[0] / 1024) if r else "-"
print("| %s | %d | %d MB | %.1f s | %.0f | %.1f s | %s | %s | %s | %.1f | %.1f MB |" % (
    name, n, int(size), secs, n / secs, float(user) + float(sys_),
    at(0.1), at(0.5), at(0.9), rows[-1][1] / 1024 if rows else 0,
    int(peak) / 1024))
PY
}

{
	echo "## Shipping to Elasticsearch (bench/ship.sh)"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r); fimscan $("$FIMSCAN" --version | cut -d' ' -f2)"
	echo "shipping over loopback HTTP to tests/mock/mock_es.py (Python, one"
	echo "process: it gunzips, parses and checks every document), default"
	echo "batches of 2,000 events, gzip level 1; documents average"
	echo "$(sqlite3 "$FIMSCAN_DB" 'SELECT avg(length(doc)) FROM tpl' | cut -d. -f1) bytes."
	echo
	echo "| run | events | store | wall | events/s | fimscan CPU | RSS MB at 10% | 50% | 90% | end | peak RSS |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	run throughput "$n"
	run backlog "$backlog"
	echo
	python3 -c '
import json, sys, urllib.request
s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_mock/stats" % sys.argv[1]))
print("The mock stored %d documents, each once (%s); %d contract violations." % (
    s["docs"], ", ".join("%s: %d" % kv for kv in sorted(s["items"].items())),
    len(s["violations"])))' "$port"
} | tee "$out/results.md"
