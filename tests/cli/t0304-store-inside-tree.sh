#!/bin/sh
# t0304: the store's own files (the database, -wal, -shm) are never
# scanned, even inside a root, and an unchanged rescan of that root has
# nothing to report.
. "$(dirname "$0")/lib.sh"

mkdir -p tree/sub && echo a >tree/a && echo b >tree/sub/b
export FIMSCAN_DB="$T/tree/sub/store.db"
# store_rows: versions recorded for the store's files
store_rows() {
	sqlite3 "$FIMSCAN_DB" \
		"SELECT count(*) FROM version WHERE CAST(name AS TEXT) LIKE 'store.db%'"
}
# no_store_paths FILE: a JSON report naming none of the store's files
no_store_paths() {
	json_check "$1" \
		'not any("store.db" in e["path"] for k in ("added", "removed", "changed") for e in d[k])'
}

fim baseline tree >/dev/null || fail "baseline"
[ "$(store_rows)" -eq 0 ] || fail "the store was recorded"
set +e
fim scan --format json tree >scan1.json
rc1=$?
set -e
[ $rc1 -lt 16 ] && [ $((rc1 & 3)) -eq 0 ] || fail "rescan: exit $rc1"
no_store_paths scan1.json

# Its files are there during a scan (a reader holds the WAL open) and
# still not recorded.
mkfifo ctl
sqlite3 "$FIMSCAN_DB" <ctl >/dev/null 2>&1 &
sq=$!
trap 'exec 3>&-; kill $sq 2>/dev/null || :; cleanup' EXIT
exec 3>ctl
echo 'SELECT count(*) FROM snapshot;' >&3
wait_until 20 '[ -e "$FIMSCAN_DB-wal" ] && [ -e "$FIMSCAN_DB-shm" ]'
echo new >tree/new
set +e
fim scan --against latest --format json tree >live.json
rc=$?
set -e
[ $rc -lt 16 ] && [ $((rc & 2)) -eq 0 ] || fail "scan with the store open: exit $rc"
json_check live.json "[e['path'] for e in d['added']] == ['$T/tree/new']"
no_store_paths live.json
exec 3>&-
wait $sq || fail "sqlite3 session"
sq=
[ "$(store_rows)" -eq 0 ] || fail "the store was recorded"
fim show tree/sub/store.db-wal >show && [ "$(wc -l <show)" -eq 1 ] ||
	fail "show lists versions of the WAL: $(cat show)"
fim accept >/dev/null || fail "accept"

# Nothing changed: nothing to report, not even the directory holding the
# store (SQLite creating and removing -wal and -shm in it on every run is
# fimscan's own doing, not a change to the tree).
expect_exit 0 fim scan tree >out
expect_exit 0 fim scan --format json tree >scan2.json
json_check scan2.json 'd["added"] == d["removed"] == d["changed"] == []'
[ $rc1 -eq 0 ] || fail "the first rescan after the baseline: exit $rc1"
