#!/bin/sh
# t0707: the watch daemon's coverage gaps reach Elasticsearch. A kernel
# queue overflow and a root that is deleted are each recorded as a gap
# event in the store and shipped as a coverage-gap document: valid ECS
# (with fimscan's own fields in its mapping), selected by the
# dashboard's gap panels (event.action "coverage_gap",
# fimscan.gap.reason), when it began in event.start, the lost root in
# file.path; one document per gap the store recorded.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

QUEUE=/proc/sys/fs/inotify/max_queued_events
[ -w "$QUEUE" ] || { echo "SKIP: cannot change $QUEUE (not root?)"; exit 0; }

start_mock es
ship_conf "$es_PORT" "root $T/tree" "root $T/other" "debounce = 50"
mkdir -p tree/burst other/sub && echo a >tree/a && echo b >other/sub/b ||
	fail "setup"

# A small queue (read when the inotify instance is created), given back
# to the machine once the daemon is up.
set_limit "$QUEUE" 64
start_watch watch
restore_limits

# The daemon cannot read while 300 files are created: the queue of 64
# overflows for certain.
kill -STOP "$WPID"
burst tree/burst 300
kill -CONT "$WPID"
rm -rf other

# gaps_shipped REASON...: a coverage-gap document for each reason is in
# Elasticsearch (gap-REASON.json), and nothing waits in the outbox.
gaps_shipped() {
	mockctl "$es_PORT" GET /_mock/docs >docs.txt || return 1
	python3 - docs.txt "$@" <<'PY'
import json, sys
gaps = {}
for line in open(sys.argv[1], "rb"):
    _, _id, doc = line.rstrip(b"\n").split(b" ", 2)
    d = json.loads(doc)
    if d["event"]["action"] == ["coverage_gap"]:
        assert d["event"]["id"] == _id.decode()
        gaps.setdefault(d["fimscan"]["gap"]["reason"], doc)
for r in sys.argv[2:]:
    if r not in gaps:
        sys.exit(1)
    open("gap-%s.json" % r, "wb").write(gaps[r])
PY
	[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -eq 0 ]
}
wait_until 60 "gaps_shipped overflow lost"
grep -q 'overflowed' "$WATCH_ERR" || fail "no overflow warning: $(cat "$WATCH_ERR")"
stop_watch

gap_doc_valid gap-overflow.json gap-lost.json
json_check gap-overflow.json 'd["event"]["reason"] == "overflow"' \
	'"file" not in d' '"overflowed" in d["message"]' \
	'd["event"]["start"] <= d["@timestamp"]' \
	'd["data_stream"] == {"type": "logs", "dataset": "fimscan.events", "namespace": "default"}' \
	'"events" not in d["fimscan"]["gap"]'
json_check gap-lost.json 'd["event"]["reason"] == "lost"' \
	"d['file']['path'] == '$T/other'" \
	"base64.b64decode(d['fimscan']['path_base64']) == b'$T/other'" \
	'"the root is gone" in d["message"]'

# One document per gap the store recorded, each shipped once.
fim events --format json >events.json || fail "events"
python3 - events.json docs.txt <<'PY' || fail "gap events and documents differ"
import collections, json, sys
ev = json.load(open(sys.argv[1]))["events"]
stored = collections.Counter(e["action"] for e in ev if e["kind"] == "gap")
shipped = collections.Counter()
for line in open(sys.argv[2], "rb"):
    d = json.loads(line.rstrip(b"\n").split(b" ", 2)[2])
    if d["event"]["action"] == ["coverage_gap"]:
        shipped[d["fimscan"]["gap"]["reason"]] += 1
assert stored == shipped and stored["overflow"] >= 1 and stored["lost"] == 1, \
    (stored, shipped)
PY
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["dead"] == 0'
reconcile
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
