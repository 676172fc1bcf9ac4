#!/bin/sh
# t0305: SIGTERM or SIGINT in the middle of a scan or a baseline: exit 23,
# promptly, nothing committed, the store intact and usable.
. "$(dirname "$0")/lib.sh"

mkdir tree && echo a >tree/a && echo b >tree/b &&
fim baseline tree >/dev/null || fail "baseline"
# a 4 GiB sparse file: seconds of hashing, during which we interrupt
truncate -s 4G tree/sparse
sqlite3 "$FIMSCAN_DB" .dump >before.sql

# rchar PID: bytes the process has read so far.
rchar() {
	awk '$1 == "rchar:" { print $2 }' "/proc/$1/io" 2>/dev/null || echo 0
}

for sig in TERM INT; do
	for cmd in scan baseline; do
		"$FIMSCAN" $cmd tree >out 2>err &
		pid=$!
		trap 'kill -9 $pid 2>/dev/null || :; cleanup' EXIT
		# well into the sparse file (the other files are 2 bytes each)
		wait_until 60 "[ \$(rchar $pid) -gt 67108864 ]"
		kill -$sig $pid
		t0=$(date +%s)
		set +e
		wait $pid
		rc=$?
		pid=
		set -e
		[ $rc -eq 23 ] || fail "$cmd, SIG$sig: exit $rc: $(cat err)"
		[ $(($(date +%s) - t0)) -le 3 ] || fail "$cmd, SIG$sig: slow to stop"
		[ ! -s out ] || fail "$cmd, SIG$sig: a report: $(cat out)"
		sqlite3 "$FIMSCAN_DB" .dump >after.sql && cmp -s before.sql after.sql ||
			fail "$cmd, SIG$sig: the store changed"
	done
done

sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
fim log >log && [ "$(grep -Ec '^ +[0-9]+[* ] ' log)" -eq 1 ] || fail "log: $(cat log)"
rm tree/sparse
expect_exit 4 fim scan tree >out
grep -q '^summary: 0 added, 0 removed, 1 changed$' out || fail "scan: $(cat out)"
