#!/bin/sh
# t0711: the documents of coverage gaps are held to outbox-max as a
# snapshot's changes are. Ten roots that do not exist are ten "lost"
# gaps recorded at the start, one transaction each, with no snapshot
# after them; with outbox-max 4 each gap beyond the fourth drops the two
# oldest documents (the outbox never holds more than 4, so it is 5
# before each trim, never more), warns, counts them, and queues an
# "outbox_overflow" gap document in their place. Every gap stays in the
# store's events; the counters reconcile.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

start_mock es
set -- "root $T/tree"
for i in 0 1 2 3 4 5 6 7 8 9; do
	set -- "$@" "root $T/m$i"
done
ship_conf "$es_PORT" "$@" "debounce = 50" "outbox-max = 4"
mkdir tree && echo a >tree/a || fail "setup"

# The reconcile is the store's first snapshot (no events to queue); the
# gaps are recorded before READY.
start_watch watch --no-ship
stop_watch

fim events --format json >events.json || fail "events"
python3 - events.json "$T" <<'PY' || fail "not every gap is in the events"
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
gaps = sorted(e["path"] for e in ev if e["kind"] == "gap" and e["action"] == "lost")
assert gaps == ["%s/m%d" % (sys.argv[2], i) for i in range(10)], gaps
PY
# 10 gap documents and 6 overflow documents were queued; 12 dropped.
n=$(grep -c "the outbox is full (outbox-max 4): dropped the 2 oldest events" \
	"$WATCH_ERR") || :
[ "$n" -eq 6 ] || fail "$n overflows: $(cat "$WATCH_ERR")"
! grep -q "dropped the [013-9][0-9]* oldest" "$WATCH_ERR" ||
	fail "the outbox went past outbox-max: $(cat "$WATCH_ERR")"
status_check 'd["outbox"]["pending"] == 4' 'd["outbox"]["dropped"] == 12' \
	'd["outbox"]["enqueued"] == 16' 'd["outbox"]["outbox_max"] == 4'
reconcile

# What is left: the two newest gaps, each followed by the overflow
# document that made room for it (the drop before it: 2 events).
sqlite3 "$FIMSCAN_DB" 'SELECT doc FROM outbox ORDER BY seq' >kept.ndjson
python3 - kept.ndjson events.json <<'PY' || fail "not the newest gaps were kept"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])]
ev = json.load(open(sys.argv[2]))["events"]
last = [e["path"] for e in ev if e["kind"] == "gap"][-2:]
reasons = [d["fimscan"]["gap"]["reason"] for d in docs]
assert reasons == ["lost", "outbox_overflow"] * 2, reasons
assert [docs[0]["file"]["path"], docs[2]["file"]["path"]] == last, docs
for d in docs[1::2]:
    assert d["fimscan"]["gap"]["events"] == 2, d
    assert d["fimscan"]["gap"]["outbox_max"] == 4, d
PY
sed -n 2p kept.ndjson >overflow.json
gap_doc_valid overflow.json

fim -q ship || fail "ship"
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq 4 ] || fail "docs"
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["delivered"] == 4'
reconcile
