#!/bin/sh
# t0514: the outbox is bounded (outbox-max). On overflow the OLDEST events
# are dropped, loudly: a warning every time, a counter --status shows, and
# a coverage-gap event (valid ECS) that ships in their place; the newest
# events and the store's own history are kept; the counts reconcile.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

start_mock es
ship_conf "$es_PORT" "outbox-max = 50"

mkdir tree && echo a >tree/a && fim baseline tree >/dev/null || fail "baseline"
make_changes tree 120
set +e
fim scan tree >/dev/null 2>err
set -e
n=$(fim report --format ecs 1 2 | wc -l)
[ "$n" -eq 122 ] || fail "$n changes"
grep -q "the outbox is full (outbox-max 50): dropped the 73 oldest events" err ||
	fail "no warning: $(cat err)"
status_check 'd["outbox"]["pending"] == 50' 'd["outbox"]["dropped"] == 73' \
	"d['outbox']['enqueued'] == $n + 1" 'd["outbox"]["outbox_max"] == 50'
reconcile
# The newest were kept (queue order is report order), then the gap event.
fim report --format ecs 1 2 | tail -n 49 >newest.ndjson
sqlite3 "$FIMSCAN_DB" 'SELECT doc FROM outbox ORDER BY seq LIMIT 49' >kept.ndjson
cmp -s newest.ndjson kept.ndjson || fail "not the newest events were kept"
sqlite3 "$FIMSCAN_DB" 'SELECT doc FROM outbox ORDER BY seq DESC LIMIT 1' >gap.json
json_check gap.json 'd["event"]["action"] == ["coverage_gap"]' \
	'd["fimscan"]["gap"]["events"] == 73' \
	'd["fimscan"]["gap"]["reason"] == "outbox_overflow"' \
	'd["fimscan"]["gap"]["outbox_max"] == 50' \
	'd["data_stream"]["namespace"] == "default"' \
	'len(d["event"]["id"]) == 40' 'd["fimscan"]["snapshot"]["id"] == 2'

# The gap event's fields exist in ECS 9.4 (or are fimscan's own, mapped).
gap_doc_valid gap.json

# Loud every time, counted across runs.
make_changes tree 10
set +e
fim scan tree >/dev/null 2>err
set -e
grep -q "dropped the 13 oldest events" err || fail "second drop: $(cat err)"
status_check 'd["outbox"]["pending"] == 50' 'd["outbox"]["dropped"] == 86'
fim ship --status >st.txt
grep -Eq '^  dropped +86  \(outbox-max 50\)$' st.txt || fail "status: $(cat st.txt)"
reconcile

# Shipping delivers the 50, gap events included.
fim -q ship || fail "ship"
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq 50 ] || fail "docs"
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"
[ "$(mockctl "$es_PORT" GET /_mock/docs | grep -c '"coverage_gap"')" -eq 2 ] ||
	fail "gap events not shipped"
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["delivered"] == 50'
reconcile

# Under the limit nothing is dropped.
make_changes tree 3
scan_quiet tree
status_check 'd["outbox"]["pending"] == 5' 'd["outbox"]["dropped"] == 86'
