#!/bin/sh
# t0709: SIGTERM stops the watch daemon promptly while another process
# holds the store's write lock. Its shipper has batches acknowledged by
# Elasticsearch that it cannot mark in the store (it would wait up to 10
# minutes for the lock): it gives up the wait, the daemon exits 0 within
# a second or so, and nothing is lost: once the lock is free, `ship`
# sends those events again, Elasticsearch answers 409 (stored before),
# and every event is delivered exactly once. A change the daemon cannot
# commit at the stop waits busy-timeout, as everywhere, unless a second
# signal interrupts it (exit 23, the next start rescans).
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

start_mock es
# Retries every 10..40 ms; the daemon's own writes would wait 10 minutes.
ship_conf "$es_PORT" "root $T/tree" "debounce = 50" "busy-timeout = 600000"
mkdir tree && echo a >tree/a || fail "setup"
fim -q baseline || fail "baseline"

# gone PID: the process has exited (a zombie until waited for).
gone() {
	! kill -0 "$1" 2>/dev/null || grep -qs '^State:.*Z' "/proc/$1/status"
}

# stop_within SECONDS EXIT SIGNAL...: send the signals (distinct ones:
# both are delivered) and wait for the exit, which must be EXIT; its time
# in ms goes to $took.
stop_within() {
	_limit=$1 _want=$2
	shift 2
	_t0=$(date +%s%N)
	for _s; do
		kill "-$_s" "$WPID"
	done
	wait_until "$_limit" "gone $WPID"
	took=$(( ($(date +%s%N) - _t0) / 1000000 ))
	set +e
	wait "$WPID"
	_rc=$?
	set -e
	WPID=""
	exec 4<&-
	[ "$_rc" -eq "$_want" ] || fail "watch exited $_rc, not $_want: $(cat "$WATCH_ERR")"
}

# --- 1. the shipper waits for the lock to settle a batch ------------------
# Elasticsearch refuses everything for now: the events of 30 new files
# wait in the outbox.
mockctl "$es_PORT" POST /_mock/faults '[{"status": 503, "times": 1000000}]' \
	>/dev/null || fail "faults"
python3 - tree 30 <<'PY' || fail "changes"
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%03d" % i), "w") as f:
        f.write("%d\n" % i)
PY
scan_quiet
pending_ids want.txt
n=$(wc -l <want.txt)
[ "$n" -ge 30 ] || fail "only $n events queued"
start_watch -v watch
wait_until 30 "grep -q 'events wait in the outbox' '$WATCH_ERR'"

# Another process takes the write lock; Elasticsearch takes events again
# and stores the batch, which the shipper then cannot mark delivered.
hold_lock
mockctl "$es_PORT" POST /_mock/faults/clear >/dev/null || fail "clear"
wait_until 30 "[ \$(mock_stat $es_PORT 's[\"docs\"]') -eq $n ]"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -eq "$n" ] ||
	fail "settled through another process's write lock"
stop_within 10 0 TERM
echo "t0709: SIGTERM with the write lock held elsewhere: exit in $took ms"
[ "$took" -lt 3000 ] || fail "SIGTERM took $took ms"
grep -q "stopped: every change seen is recorded" "$WATCH_ERR" ||
	fail "not a clean stop: $(cat "$WATCH_ERR")"
! grep -q "error:" "$WATCH_ERR" || fail "errors: $(cat "$WATCH_ERR")"
release_lock

# Nothing was lost: the resend is answered 409, delivered once.
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM outbox')" -eq "$n" ] ||
	fail "the unsettled events are not pending"
c409=$(mock_stat "$es_PORT" 's["items"].get("409", 0)')
fim -q ship || fail "ship"
[ "$(mock_stat "$es_PORT" 's["items"].get("409", 0)')" -eq $((c409 + n)) ] ||
	fail "the stored batch was not answered 409"
mock_ids "$es_PORT" got.txt
cmp -s want.txt got.txt || fail "Elasticsearch holds other events"
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["dead"] == 0' \
	'd["outbox"]["dropped"] == 0' 'd["outbox"]["delivered"] == '"$n"
reconcile
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"

# --- 2. the daemon's own last snapshot: a second signal interrupts it ----
start_watch watch --no-ship
hold_lock
echo b >tree/b
# SIGTERM: the change waits for the lock (busy-timeout, 10 minutes);
# SIGINT then gives up at once.
stop_within 10 23 TERM INT
echo "t0709: SIGTERM and SIGINT with the write lock held elsewhere: exit in $took ms"
grep -q "interrupted: the last changes were not recorded" "$WATCH_ERR" ||
	fail "no word of the lost changes: $(cat "$WATCH_ERR")"
release_lock
