#!/bin/sh
# t0712: a full rescan that the store cannot take (another process holds
# the write lock past busy-timeout) is done again once it can. After a
# SIGHUP that adds a root, the files already in that root (no watch saw
# them) are in the store as soon as the lock is free, not at the next
# periodic rescan; a daemon stopped before that says the next start
# rescans.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/cli/watchlib.sh"

mkdir -p tree two && echo a >tree/a && echo b >two/b || fail "setup"
cat >w.conf <<EOF2
root $T/tree
debounce = 50
busy-timeout = 200
EOF2
start_watch -c w.conf watch
echo c >two/c
cat >w.conf <<EOF2
root $T/tree
root $T/two
debounce = 50
busy-timeout = 200
EOF2

# in_store PATH: the daemon recorded PATH as added.
in_store() {
	events_ok "[e for e in ev if e.get('path') == '$1' and
		    e['action'] == 'added']"
}

hold_lock
kill -HUP "$WPID"
read_ready             # reloaded; its rescan could not take the store
grep -q "store cannot take the changes now" "$WATCH_ERR" ||
	fail "the rescan did not wait for the store: $(cat "$WATCH_ERR")"
! in_store "$T/two/c" || fail "recorded through the lock"
release_lock
wait_until 30 "in_store '$T/two/c'"
in_store "$T/two/b" || fail "two/b is not in the store"
json_check ev.json \
	"sum(1 for e in d['events'] if e['kind'] == 'rescan' and e['action'] == 'reload') == 1"
stop_watch
# the one error is the store being busy, said when the rescan met it
! grep "error:" "$WATCH_ERR" | grep -qv "is busy" ||
	fail "errors: $(cat "$WATCH_ERR")"
grep -q "stopped: every change seen is recorded" "$WATCH_ERR" ||
	fail "$(cat "$WATCH_ERR")"
: >"$WATCH_ERR"

# The same, stopped while the lock is still held: said, not hidden.
echo d >tree/d
start_watch -c w.conf watch
mkdir -p three && echo e >three/e
printf 'root %s\nroot %s\nroot %s\ndebounce = 50\nbusy-timeout = 200\n' \
	"$T/tree" "$T/two" "$T/three" >w.conf
hold_lock
kill -HUP "$WPID"
read_ready
stop_watch             # exit 0, the lock still held
release_lock
grep -q "the rescan of the roots (reload) could not be recorded: the next start rescans" \
	"$WATCH_ERR" || fail "not said: $(cat "$WATCH_ERR")"
grep -q "stopped: not everything seen is recorded" "$WATCH_ERR" ||
	fail "$(cat "$WATCH_ERR")"
