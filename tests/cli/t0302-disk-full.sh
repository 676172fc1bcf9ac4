#!/bin/sh
# t0302: a full disk under the store fails the snapshot with exit 22 and a
# clear message, leaving the previous snapshot intact and the store usable;
# a report that cannot be written (stdout on /dev/full) exits 21.
. "$(dirname "$0")/lib.sh"

mount_tmpfs "$T/small" 600k || fail "cannot mount a tmpfs (run as root)"
export FIMSCAN_DB="$T/small/store.db"

mkdir tiny && echo a >tiny/a && echo b >tiny/b &&
fim baseline tiny >/dev/null || fail "baseline of a tiny tree"

# A tree whose rows cannot fit: 2,000 symlinks with 2,000-byte targets.
python3 -c '
import os
os.makedirs("huge")
for i in range(2000):
    os.symlink(("%04d" % i) * 500, "huge/l%04d" % i)' || fail "making the tree"

set +e
"$FIMSCAN" baseline huge >out 2>err
rc=$?
set -e
[ $rc -eq 22 ] || fail "baseline on a full disk: exit $rc: $(cat err)"
grep -q 'disk full' err || fail "message: $(cat err)"
[ "$(grep -c 'disk full' err)" -eq 1 ] || fail "said more than once: $(cat err)"

# The previous snapshot is intact and still the baseline.
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' >ic && grep -qx ok ic ||
	fail "integrity_check: $(cat ic)"
fim log >log || fail "log"
[ "$(grep -Ec '^ +[0-9]+[* ] ' log)" -eq 1 ] && grep -Eq '^ +1\* baseline ' log ||
	fail "log: $(cat log)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM version WHERE born > 1')" -eq 0 ] ||
	fail "rows of the failed baseline"

# A small scan still works once the failed transaction is gone.
expect_exit 0 fim scan tiny >out
grep -q '^summary: no differences$' out || fail "scan: $(cat out)"
echo more >>tiny/a
expect_exit 4 fim scan tiny >/dev/null
# ... and a scan that does not fit fails the same way
set +e
"$FIMSCAN" scan huge >/dev/null 2>err
rc=$?
set -e
[ $rc -eq 22 ] || fail "scan on a full disk: exit $rc: $(cat err)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 3 ] ||
	fail "snapshots after the failed scan"

# Output that cannot be written: 21 (the snapshot was committed before).
set +e
"$FIMSCAN" scan tiny >/dev/full 2>err
rc=$?
set -e
[ $rc -eq 21 ] || fail "scan >/dev/full: exit $rc"
grep -q 'cannot write report: No space left on device' err || fail "message: $(cat err)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 4 ] ||
	fail "the scan's snapshot was not committed"
for cmd in "diff" "diff --format json" "log" "show tiny/a" "baseline --format json tiny"; do
	set +e
	# shellcheck disable=SC2086
	"$FIMSCAN" $cmd >/dev/full 2>/dev/null
	rc=$?
	set -e
	[ $rc -eq 21 ] || fail "$cmd >/dev/full: exit $rc"
done
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
