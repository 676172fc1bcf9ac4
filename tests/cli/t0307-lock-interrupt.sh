#!/bin/sh
# t0307: an interrupt ends a wait for another process's write lock at
# once. With busy-timeout at 10 minutes and the lock held elsewhere, a
# scan, a baseline, an accept and a prune that are waiting for it exit 23
# on SIGINT or SIGTERM within a second or so, and write nothing; the
# store works as before once the lock is free.
. "$(dirname "$0")/lib.sh"

mkdir tree && echo a >tree/a && fim -q baseline tree || fail "baseline"
echo b >tree/b && expect_exit 5 fim -q scan tree >/dev/null
printf 'busy-timeout = 600000\n' >long.conf
sqlite3 "$FIMSCAN_DB" .dump >before.sql

# sleeping PID: a thread of PID is in nanosleep (SQLite's busy wait
# sleeps between attempts), by the syscall numbers of this machine.
case $(uname -m) in
x86_64) SLEEPS='^(35|230) ' ;;
aarch64) SLEEPS='^(101|115) ' ;;
*) SLEEPS='' ;;
esac
sleeping() {
	[ -z "$SLEEPS" ] && return 0
	cat /proc/"$1"/task/*/syscall 2>/dev/null | grep -Eq "$SLEEPS"
}
# waiting PID: the store is open and a thread sleeps in the busy wait.
waiting() {
	ls -l /proc/"$1"/fd 2>/dev/null | grep -q 'store\.db$' && sleeping "$1"
}

hold_lock
for sig in INT TERM; do
	for cmd in "scan tree" "baseline tree" "accept" "prune --keep 1"; do
		# shellcheck disable=SC2086
		"$FIMSCAN" -c long.conf $cmd >out 2>err &
		pid=$!
		wait_until 30 "waiting $pid"
		t0=$(date +%s%N)
		kill -$sig $pid
		set +e
		wait $pid
		rc=$?
		set -e
		took=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ $rc -eq 23 ] || fail "$cmd, SIG$sig: exit $rc: $(cat err)"
		[ $took -lt 3000 ] || fail "$cmd, SIG$sig: $took ms to stop"
		! grep -q busy err || fail "$cmd, SIG$sig: $(cat err)"
		echo "t0307: $cmd, SIG$sig while waiting for the lock: $took ms"
	done
done
release_lock

sqlite3 "$FIMSCAN_DB" .dump >after.sql
cmp -s before.sql after.sql || fail "the store changed"
expect_exit 5 fim -q scan tree >/dev/null
fim -q accept || fail "accept"
