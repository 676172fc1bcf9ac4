#!/bin/sh
# t0512: kill -9 at any point: of `ship` while Elasticsearch holds a batch
# it stored but has not answered (the worst moment: stored, not marked
# delivered), and at arbitrary points of a run; and of a scan while it
# queues its events. Afterwards every event reaches Elasticsearch exactly
# once (the resends are answered 409), a snapshot and its events were
# committed together or not at all, and the counts reconcile.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"

start_mock es
ship_conf "$es_PORT" "es-batch = 100"

mkdir tree && echo a >tree/a && fim baseline tree >/dev/null || fail "baseline"
make_changes tree 3000
scan_quiet tree
n=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
pending_ids all.txt

pid=
trap 'kill -9 $pid 2>/dev/null || :; stop_mocks; cleanup' EXIT

# ship_and_kill WHEN [MAY-FINISH]: start a ship, kill -9 it once WHEN
# holds (with MAY-FINISH, it may also have finished by then).
ship_and_kill() {
	"$FIMSCAN" ship >/dev/null 2>&1 &
	pid=$!
	wait_until 30 "$1 || ! kill -0 $pid 2>/dev/null"
	kill -9 $pid 2>/dev/null || :
	set +e
	wait $pid 2>/dev/null
	rc=$?
	set -e
	pid=
	[ $rc -eq 137 ] || { [ -n "${2:-}" ] && [ $rc -eq 0 ]; } ||
		fail "ship was not killed (exit $rc)"
}

# Whatever the moment: each event is in Elasticsearch or still pending
# (or both, for the batch Elasticsearch stored but could not answer).
check_split() {
	pending_ids pend.txt
	mock_ids "$es_PORT" got.txt
	sort -u pend.txt got.txt >union.txt
	cmp -s union.txt all.txt || fail "$1: events lost or unknown"
	both=$(comm -12 pend.txt got.txt | wc -l)
	[ "$both" -le "${2:-100}" ] && [ "$both" -ge "${3:-0}" ] ||
		fail "$1: $both events both stored and pending"
	reconcile
}

# 1. The k-th request of a run is stored and then left unanswered.
for k in 3 1 4; do
	skip=$(python3 -c "print(','.join(['{}'] * ($k - 1)))")
	mockctl "$es_PORT" POST /_mock/faults \
		"[$skip${skip:+,}{\"slow\": 120}]" >/dev/null
	ship_and_kill "[ \$(mock_stat $es_PORT 's[\"slow_waiting\"]') -ge 1 ]"
	check_split "stored, unanswered, killed ($k)" 100 100
done

# 2. Killed at arbitrary moments (requests slowed so that there are some).
mockctl "$es_PORT" POST /_mock/faults '[{"slow": 0.05, "times": 100000}]' \
	>/dev/null
for i in 1 2 3; do
	d=$(mock_stat "$es_PORT" 's["docs"]')
	ship_and_kill "[ \$(mock_stat $es_PORT 's[\"docs\"]') -ge $((d + 150 * i)) ]" \
		may-finish
	check_split "killed anywhere ($i)"
done
mockctl "$es_PORT" POST /_mock/faults/clear >/dev/null

# 3. The next run delivers the rest: exactly once.
fim -q ship || fail "ship after the kills"
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq "$n" ] || fail "docs"
[ "$(mock_stat "$es_PORT" 's["items"]["201"]')" -eq "$n" ] || fail "201s"
[ "$(mock_stat "$es_PORT" 's["items"]["409"] >= 300')" = True ] ||
	fail "the unanswered batches were not resent"
mock_ids "$es_PORT" got.txt
cmp -s all.txt got.txt || fail "ids"
status_check 'd["outbox"]["pending"] == 0' "d['outbox']['delivered'] == $n"
reconcile

# 4. kill -9 of a scan that queues 5,000 events: all of the snapshot's
# events are queued with it, or neither is there.
make_changes tree 5000
snaps=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')
"$FIMSCAN" scan tree >/dev/null 2>&1 &
pid=$!
wal_size() {
	stat -c %s "$FIMSCAN_DB-wal" 2>/dev/null || echo 0
}
wait_until 60 "[ \$(wal_size) -gt 600000 ] || ! kill -0 $pid 2>/dev/null"
kill -9 $pid 2>/dev/null || :
wait $pid 2>/dev/null || :
pid=
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
now=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')
queued=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')
if [ "$now" -eq "$snaps" ]; then
	[ "$queued" -eq 0 ] || fail "events of a snapshot that is not there"
	scan_quiet tree
fi
latest=$(sqlite3 "$FIMSCAN_DB" 'SELECT max(id) FROM snapshot')
want=$(fim report --format ecs $((latest - 1)) "$latest" | wc -l)
[ "$(sqlite3 "$FIMSCAN_DB" "SELECT count(*) FROM outbox WHERE snap = $latest")" -eq "$want" ] ||
	fail "the snapshot's events are not all queued"
[ "$want" -ge 5001 ] || fail "$want events"
reconcile
fim -q ship || fail "ship the scan's events"
[ "$(mock_stat "$es_PORT" 's["docs"]')" -eq $((n + want)) ] || fail "docs at the end"
reconcile
