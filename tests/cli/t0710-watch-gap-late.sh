#!/bin/sh
# t0710: a coverage gap the store cannot take when it happens (another
# process holds the write lock beyond busy-timeout) is not lost. The
# daemon keeps it in memory and says so; once the store takes writes
# again it records it, before any later snapshot, with the time it began,
# once, and its document for Elasticsearch with it, once. The same for a
# kernel queue overflow, whose rescan waits for its gap. A gap that still
# cannot be recorded when the daemon stops is named in an error.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"
. "$SRCDIR/tests/mock/lib-ship.sh"
trap 'stop_mocks; watch_cleanup' EXIT

start_mock es
ship_conf "$es_PORT" "root $T/tree" "root $T/one" "root $T/two" \
	"debounce = 50" "busy-timeout = 200"
mkdir -p tree/burst one/sub two && echo a >tree/a && echo b >one/sub/b &&
	echo c >two/c || fail "setup"

# kept_since ACTION WHERE: the start time the daemon gave for a gap it
# could not record (empty until it said so).
kept_since() {
	grep -o "the coverage gap ($1, $2) since [^ ]* is not recorded yet" \
		"$WATCH_ERR" | head -n 1 | sed 's/.* since //; s/ is not.*//'
}

# --- 1. a kernel queue overflow while the store is locked ----------------
QUEUE=/proc/sys/fs/inotify/max_queued_events
if [ -w "$QUEUE" ]; then
	set_limit "$QUEUE" 64
	start_watch watch --no-ship
	restore_limits
	kill -STOP "$WPID"
	burst tree/burst 300
	hold_lock
	kill -CONT "$WPID"
	wait_until 60 "[ -n \"\$(kept_since overflow 'all the roots')\" ]"
	osince=$(kept_since overflow "all the roots")
	release_lock
	wait_until 60 "grep -q 'the coverage gap (overflow, all the roots) since $osince is recorded now' '$WATCH_ERR'"
	wait_until 60 "grep -q 'rescanned the roots after the overflow' '$WATCH_ERR'"
	stop_watch
	# The same with the lock still held at SIGTERM: the daemon stops
	# promptly (it once retried the overflow's rescan for as long as
	# the lock was held) and names the gap it could not record.
	: >"$WATCH_ERR"
	mkdir tree/burst2
	set_limit "$QUEUE" 64
	start_watch watch --no-ship
	restore_limits
	kill -STOP "$WPID"
	burst tree/burst2 300
	hold_lock
	kill -CONT "$WPID"
	wait_until 60 "[ -n \"\$(kept_since overflow 'all the roots')\" ]"
	osince2=$(kept_since overflow "all the roots")
	kill -TERM "$WPID"
	wait_until 30 "! kill -0 $WPID 2>/dev/null || grep -qs '^State:.*Z' /proc/$WPID/status"
	set +e
	wait "$WPID"
	rc=$?
	set -e
	WPID=""
	exec 4<&-
	release_lock
	[ $rc -eq 0 ] || fail "watch exited $rc: $(cat "$WATCH_ERR")"
	grep -q "the coverage gap (overflow, all the roots) since $osince2 could not be recorded" \
		"$WATCH_ERR" || fail "the gap is not named: $(cat "$WATCH_ERR")"
	grep -q "stopped: not everything seen is recorded" "$WATCH_ERR" ||
		fail "$(cat "$WATCH_ERR")"
	# the next start reconciles what that rescan would have
	start_watch watch --no-ship
	stop_watch
	events_ok "len([e for e in ev if '/burst2/' in e.get('path', '') and e['action'] == 'added']) == 300" ||
		fail "burst2 is not in the store"
else
	echo "t0710: cannot change $QUEUE (not root?): no overflow part"
	osince=""
fi

# --- 2. a lost root while the store is locked ----------------------------
start_watch watch --no-ship
hold_lock
rm -rf one
wait_until 60 "[ -n \"\$(kept_since lost '$T/one')\" ]"
since=$(kept_since lost "$T/one")
grep -q "store $FIMSCAN_DB is busy" "$WATCH_ERR" ||
	fail "no error from the store: $(cat "$WATCH_ERR")"
! grep -q "cannot record the coverage gap" "$WATCH_ERR" ||
	fail "the gap was given up: $(cat "$WATCH_ERR")"
events_ok 'not [e for e in ev if e["action"] == "lost"]' ||
	fail "a gap was recorded through the lock"
release_lock
echo new >tree/new
wait_until 60 "grep -q 'the coverage gap (lost, $T/one) since $since is recorded now' '$WATCH_ERR'"
wait_until 60 "events_ok '[e for e in ev if e.get(\"path\") == \"$T/tree/new\"]'"
stop_watch
fim -q ship || fail "ship"

# Each gap once, with the time it began, before the changes recorded
# after it; its document in Elasticsearch once, with that start time.
fim events --format json >events.json || fail "events"
mockctl "$es_PORT" GET /_mock/docs >docs.txt || fail "docs"
python3 - events.json docs.txt "$T" "$since" "$osince" <<'PY' ||
import collections, json, sys
ev = json.load(open(sys.argv[1]))["events"]
T, since, osince = sys.argv[3], sys.argv[4], sys.argv[5]
gaps = [e for e in ev if e["kind"] == "gap"]
want = [("lost", T + "/one", since)]
if osince:
    want.insert(0, ("overflow", None, osince))
got = [(e["action"], e.get("path"), e["time"]) for e in gaps]
assert got == want, (got, want)
lost = gaps[-1]
assert "recorded late" in lost["detail"], lost
# the removal it covers was committed after it, not before
gone = [e for e in ev if e.get("path") == T + "/one" and e["kind"] == "change"]
assert gone and all(e["seq"] > lost["seq"] for e in gone), (lost, gone)
if osince:
    rescans = [e for e in ev if e["kind"] == "rescan" and e["action"] == "overflow"]
    assert len(rescans) == 1 and rescans[0]["seq"] > gaps[0]["seq"], rescans
shipped = collections.Counter()
for line in open(sys.argv[2], "rb"):
    d = json.loads(line.rstrip(b"\n").split(b" ", 2)[2])
    if d["event"]["action"] == ["coverage_gap"]:
        shipped[(d["fimscan"]["gap"]["reason"], d.get("file", {}).get("path"),
                 d["event"]["start"])] += 1
assert shipped == collections.Counter(want), (shipped, want)
PY
	fail "the late gaps are not each recorded and shipped once"
status_check 'd["outbox"]["pending"] == 0' 'd["outbox"]["dead"] == 0' \
	'd["outbox"]["dropped"] == 0'
reconcile
[ "$(mock_stat "$es_PORT" 's["violations"]')" = "[]" ] || fail "violations"

# --- 3. still locked at the stop: the gap is named as lost ---------------
start_watch watch --no-ship
hold_lock
rm -rf two
wait_until 60 "[ -n \"\$(kept_since lost '$T/two')\" ]"
since=$(kept_since lost "$T/two")
stop_watch
grep -q "the coverage gap (lost, $T/two) since $since could not be recorded: it is neither in the store's events nor queued for shipping" \
	"$WATCH_ERR" || fail "the lost gap is not named: $(cat "$WATCH_ERR")"
grep -q "stopped: not everything seen is recorded" "$WATCH_ERR" ||
	fail "the stop claims everything: $(cat "$WATCH_ERR")"
release_lock
events_ok "not [e for e in ev if e.get('path') == '$T/two' and e['kind'] == 'gap']" ||
	fail "a gap recorded after all"
