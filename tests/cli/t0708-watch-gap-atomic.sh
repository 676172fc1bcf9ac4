#!/bin/sh
# t0708: a coverage gap and its document for Elasticsearch commit
# together. When queueing the document fails after the gap's event was
# written (here the outbox refuses coverage-gap documents: a CHECK
# constraint added to the store behind the daemon's back), neither
# stays: `fimscan events` lists no gap the fleet view would never hear
# of, and the error says which gap was lost and where it is missing.
# Once the outbox takes documents again, the next gap is recorded with
# its document, and each gap in the events reaches Elasticsearch once.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

start_mock es
ship_conf "$es_PORT" "root $T/tree" "root $T/one" "root $T/two" \
	"debounce = 50"
mkdir -p tree one/sub two && echo a >tree/a && echo b >one/sub/b &&
	echo c >two/c || fail "setup"

# sql STATEMENT: on the daemon's store, waiting for its write lock.
sql() {
	sqlite3 -cmd '.timeout 30000' "$FIMSCAN_DB" "$1" >/dev/null ||
		fail "sql: $1"
}

start_watch watch --no-ship
sql "ALTER TABLE outbox ADD COLUMN t0708 INTEGER
	CHECK (instr(doc, 'coverage_gap') = 0)"
rm -rf one
wait_until 60 "grep -q '$T/one: the root is gone' '$WATCH_ERR'"
grep -q "cannot queue an event: .*CHECK constraint failed" "$WATCH_ERR" ||
	fail "no error from the outbox: $(cat "$WATCH_ERR")"
grep -q "cannot record the coverage gap (lost, $T/one): it is neither in the store's events nor queued for shipping" \
	"$WATCH_ERR" || fail "the error does not say what was lost: $(cat "$WATCH_ERR")"

# The outbox takes documents again: the next gap goes with its own.
sql "ALTER TABLE outbox DROP COLUMN t0708"
rm -rf two
wait_until 60 "grep -q '$T/two: the root is gone' '$WATCH_ERR'"
stop_watch
fim -q ship || fail "ship"

# Each gap in the store's events has its document in Elasticsearch,
# and no document is without its gap: the lost root two, not one.
fim events --format json >events.json || fail "events"
mockctl "$es_PORT" GET /_mock/docs >docs.txt || fail "docs"
python3 - events.json docs.txt "$T" <<'PY' || fail "gap events and documents differ"
import collections, json, sys
ev = json.load(open(sys.argv[1]))["events"]
stored = collections.Counter((e["action"], e.get("path"))
                             for e in ev if e["kind"] == "gap")
shipped = collections.Counter()
for line in open(sys.argv[2], "rb"):
    d = json.loads(line.rstrip(b"\n").split(b" ", 2)[2])
    if d["event"]["action"] == ["coverage_gap"]:
        shipped[(d["fimscan"]["gap"]["reason"], d["file"]["path"])] += 1
assert stored == shipped, (stored, shipped)
assert list(stored.elements()) == [("lost", sys.argv[3] + "/two")], stored
PY
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["dead"] == 0'
reconcile
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
