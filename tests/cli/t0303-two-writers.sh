#!/bin/sh
# t0303: while another process holds the store's write lock, a writer
# (scan, baseline, accept) waits busy-timeout and fails with 19 and "busy";
# readers (log, diff, show) still work. The lock is held first by an
# sqlite3 session in BEGIN IMMEDIATE (deterministic), then by a running
# fimscan baseline.
. "$(dirname "$0")/lib.sh"

printf 'busy-timeout = 200\n' >busy.conf
mkdir tree && echo a >tree/a && echo b >tree/b &&
fim baseline tree >/dev/null && echo c >>tree/a &&
expect_exit 4 fim scan tree >/dev/null

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
# locked: another connection cannot take the write lock right now.
locked() {
	! sqlite3 -cmd '.timeout 0' "$FIMSCAN_DB" 'BEGIN IMMEDIATE; ROLLBACK;' \
		>/dev/null 2>&1
}
# writer_busy CMD...: CMD (a writing fimscan command) exits 19 with "busy"
# on stderr, after waiting about busy-timeout.
writer_busy() {
	t0=$(now_ms)
	set +e
	"$FIMSCAN" -c busy.conf "$@" >w.out 2>w.err
	rc=$?
	set -e
	ms=$(($(now_ms) - t0))
	[ $rc -eq 19 ] || fail "$*: exit $rc, want 19: $(cat w.err)"
	grep -q 'busy' w.err || fail "$*: message: $(cat w.err)"
	[ $ms -ge 150 ] || fail "$*: gave up after $ms ms, before busy-timeout"
	[ $ms -lt 4000 ] || fail "$*: waited $ms ms for a 200 ms busy-timeout"
}
readers_work() {
	fim log >r.log || fail "log while locked"
	[ "$(grep -Ec '^ +[0-9]+[* ] ' r.log)" -eq "$1" ] || fail "log: $(cat r.log)"
	expect_exit 4 fim diff >/dev/null
	expect_exit 4 fim diff --format json 1 2 >/dev/null
	fim show tree/a >/dev/null || fail "show while locked"
}

# 1. An sqlite3 session holds the lock, fed through a FIFO.
mkfifo ctl
sqlite3 "$FIMSCAN_DB" <ctl >/dev/null 2>&1 &
sq=$!
pid=
trap 'exec 3>&-; kill $sq $pid 2>/dev/null || :; cleanup' EXIT
exec 3>ctl
echo 'BEGIN IMMEDIATE;' >&3
wait_until 20 locked
writer_busy scan tree
writer_busy baseline tree
writer_busy accept
readers_work 2
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 2 ] ||
	fail "a busy writer committed something"
echo 'ROLLBACK;' >&3
exec 3>&-
wait $sq || fail "sqlite3 session"
sq=
expect_exit 4 fim -c busy.conf scan tree >/dev/null

# 2. A running baseline holds it (a 2 GiB sparse file keeps it hashing).
mkdir big && truncate -s 2G big/sparse
"$FIMSCAN" baseline big >/dev/null 2>base.err &
pid=$!
wait_until 30 locked
writer_busy scan tree
readers_work 3
kill -0 $pid || fail "the baseline ended before the checks"
kill -TERM $pid
set +e
wait $pid
rc=$?
pid=
set -e
[ $rc -eq 23 ] || fail "interrupted baseline: exit $rc: $(cat base.err)"
expect_exit 0 fim -c busy.conf scan --against latest tree >/dev/null
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
