#!/bin/sh
# t0301: kill -9 in the middle of a baseline of a large tree, while the
# store's WAL is being written: the store passes integrity_check, the
# previous baseline is intact and alone in the log, diff works, and the
# next scan and baseline succeed.
#
# The tree: 20,000 files in 100 directories, 5,000 symlinks with 4,000-byte
# targets (20 MB of rows, more than the store's page cache, so the open
# transaction spills into the WAL), and a 2 GiB sparse file walked last,
# which keeps the transaction open for seconds while it is hashed.
. "$(dirname "$0")/lib.sh"

mkdir tree && echo a >tree/a && echo b >tree/b &&
fim baseline tree >/dev/null || fail "first baseline"
sqlite3 "$FIMSCAN_DB" .dump >before.sql

python3 - <<'PY' || fail "making the large tree"
import os
for d in range(100):
    os.makedirs("tree/big/d%03d" % d)
    for f in range(200):
        with open("tree/big/d%03d/f%03d" % (d, f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
os.makedirs("tree/links")
for i in range(5000):
    os.symlink(("%05d" % i) * 800, "tree/links/l%05d" % i)
os.makedirs("tree/zzz")
with open("tree/zzz/sparse", "wb") as fh:
    fh.truncate(2 << 30)
PY

wal_size() {
	stat -c %s "$FIMSCAN_DB-wal" 2>/dev/null || echo 0
}
"$FIMSCAN" baseline tree >/dev/null 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || :; cleanup' EXIT
wait_until 60 "[ \$(wal_size) -gt 4194304 ]"
kill -9 $pid
set +e
wait $pid
rc=$?
pid=
set -e
[ $rc -eq 137 ] || fail "the baseline was not killed mid-way (exit $rc)"
[ "$(wal_size)" -gt 4194304 ] || fail "no WAL left behind"

sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' >ic && grep -qx ok ic ||
	fail "integrity_check: $(cat ic)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 1 ] ||
	fail "a snapshot of the killed baseline is visible"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM version WHERE born > 1')" -eq 0 ] ||
	fail "versions of the killed baseline are visible"
fim log >log || fail "log"
[ "$(grep -Ec '^ +[0-9]+[* ] ' log)" -eq 1 ] && grep -Eq '^ +1\* baseline ' log ||
	fail "log: $(cat log)"
expect_exit 0 fim diff >/dev/null
fim show tree/a >/dev/null || fail "show"
# the store reads as it did before (the hot WAL held no committed frame)
sqlite3 "$FIMSCAN_DB" .dump >after.sql && cmp -s before.sql after.sql ||
	fail "the store's content changed"

# The next runs work (without the slow file).
rm tree/zzz/sparse
expect_exit 5 fim scan tree >out
grep -q '^summary: 25103 added, 0 removed, 1 changed$' out ||
	fail "scan after the kill: $(head -n 3 out)"
fim baseline tree >/dev/null || fail "baseline after the kill"
expect_exit 0 fim scan tree >/dev/null
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 4 ] ||
	fail "snapshots"
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
